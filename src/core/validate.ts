import { z } from "zod";
import { StratumError } from "./errors.js";

/** Parses `input` with `schema`, turning zod's issues into one VALIDATION_FAILED error. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new StratumError("VALIDATION_FAILED", `Invalid ${what}: ${summary}. Fix these fields and call again.`, { issues });
}
