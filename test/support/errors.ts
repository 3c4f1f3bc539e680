/**
 * The one way tests check a refusal: by its StratumError code, never by message text (codes are
 * the contract, docs/errors.md). Replaces the per-file `rejects` / `expectCode` / `code` helpers.
 */
import { expect } from "vitest";
import { isStratumError, type ErrorCode, type StratumError } from "../../src/core/errors.js";

type Settled = { value: unknown } | { error: unknown };

async function settle(promise: PromiseLike<unknown>): Promise<Settled> {
  return Promise.resolve(promise).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

function describeError(error: unknown): string {
  if (isStratumError(error)) return `StratumError ${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Asserts that `promise` rejects with a StratumError of `code` (and, if given, `details` matching
 * as with toMatchObject); returns the error for further checks.
 */
export async function rejectsWithCode(promise: PromiseLike<unknown>, code: ErrorCode, details?: Record<string, unknown>): Promise<StratumError> {
  const outcome = await settle(promise);
  if ("value" in outcome) throw new Error(`expected a StratumError ${code}, but the promise resolved`);
  const error = outcome.error;
  expect(isStratumError(error) ? error.code : describeError(error), `expected StratumError ${code}, got ${describeError(error)}`).toBe(code);
  if (details) expect((error as StratumError).details).toMatchObject(details);
  return error as StratumError;
}

/** `rejectsWithCode` for a function that throws synchronously. */
export function throwsWithCode(fn: () => unknown, code: ErrorCode, details?: Record<string, unknown>): StratumError {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) throw new Error(`expected a StratumError ${code}, but nothing was thrown`);
  expect(isStratumError(error) ? error.code : describeError(error), `expected StratumError ${code}, got ${describeError(error)}`).toBe(code);
  if (details) expect((error as StratumError).details).toMatchObject(details);
  return error as StratumError;
}

/**
 * What `promise` settles to, as one comparable string: the StratumError's code, another error's
 * message, or undefined when it resolved. For tables of outcomes (`expect(await codeOf(p)).toBe(…)`).
 */
export async function codeOf(promise: PromiseLike<unknown>): Promise<string | undefined> {
  const outcome = await settle(promise);
  if ("value" in outcome) return undefined;
  const error = outcome.error;
  if (isStratumError(error)) return error.code;
  // A StratumError from another copy of the module (an example bundled separately) still has its code.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  return error instanceof Error ? error.message : String(error);
}
