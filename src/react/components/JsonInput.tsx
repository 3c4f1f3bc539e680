/// <reference lib="dom" />
import { useId } from "react";
import { parseJson } from "../json.js";

export interface JsonInputProps {
  label: string;
  text: string;
  onChange(text: string): void;
  disabled?: boolean;
  autoFocus?: boolean;
  placeholder?: string;
}

/** A textarea that says, as the user types, whether its text is JSON the server will accept. */
export function JsonInput({ label, text, onChange, disabled, autoFocus, placeholder }: JsonInputProps) {
  const id = useId();
  const parsed = parseJson(text);
  // Nothing typed yet is not an error worth shouting about; the submit button stays disabled.
  const invalid = !parsed.ok && text.trim() !== "";
  return (
    <div className="stratum-field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        className="stratum-json-input"
        value={text}
        rows={Math.min(8, Math.max(1, text.split("\n").length))}
        spellCheck={false}
        aria-invalid={invalid}
        aria-describedby={invalid ? `${id}-error` : undefined}
        disabled={disabled}
        autoFocus={autoFocus}
        placeholder={placeholder}
        onChange={(event) => onChange(event.target.value)}
      />
      {invalid && !parsed.ok ? (
        <p id={`${id}-error`} className="stratum-field-error">
          {parsed.message}
        </p>
      ) : null}
    </div>
  );
}
