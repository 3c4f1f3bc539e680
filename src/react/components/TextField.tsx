/// <reference lib="dom" />
import { useId, type InputHTMLAttributes } from "react";

export interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "onChange" | "value" | "id"> {
  label: string;
  value: string;
  onChange(value: string): void;
  /** Shown under the field and tied to it with aria-describedby. */
  help?: string;
}

/** A label above its input (never glued to it), optional help text below. */
export function TextField({ label, value, onChange, help, ...rest }: TextFieldProps) {
  const id = useId();
  return (
    <div className="stratum-field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className="stratum-input"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={help ? `${id}-help` : undefined}
        autoComplete="off"
        {...rest}
      />
      {help ? (
        <p id={`${id}-help`} className="stratum-help">
          {help}
        </p>
      ) : null}
    </div>
  );
}
