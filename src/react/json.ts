/** JSON text in the editors: parsed before anything is sent, so the server only sees valid values. */
import type { JsonValue } from "./client/types.js";

export type ParsedJson = { ok: true; value: JsonValue } | { ok: false; message: string };

export function parseJson(text: string): ParsedJson {
  if (text.trim() === "") return { ok: false, message: 'Enter a JSON value, e.g. 100, true, "dark" or {"a": 1}.' };
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (error) {
    const hint = /^[A-Za-z]/.test(text.trim()) && !/^(true|false|null)$/.test(text.trim()) ? " Text needs double quotes." : "";
    return { ok: false, message: `Not valid JSON: ${(error as Error).message}.${hint}` };
  }
}

/** One line for tables. */
export function showJson(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value);
}

/** Indented, for editing. */
export function editableJson(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}
