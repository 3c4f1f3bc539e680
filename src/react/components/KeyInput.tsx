/// <reference lib="dom" />
import { useId } from "react";

export interface KeyInputProps {
  label: string;
  value: string;
  onChange(value: string): void;
}

/** A labelled text field for a config or permission key (no autocomplete, no spell check). */
export function KeyInput({ label, value, onChange }: KeyInputProps) {
  const id = useId();
  return (
    <div className="stratum-field">
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(event) => onChange(event.target.value)} autoComplete="off" spellCheck={false} />
    </div>
  );
}
