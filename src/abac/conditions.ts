/**
 * ABAC condition evaluation. A condition reads one attribute by dotted path from the request
 * (`subject.*`, `resource.*`, `context.*`, or `action`) and compares it with a literal `value` or
 * with another attribute named by `ref`. A condition on a missing attribute is false whatever the
 * operator, so a policy never applies by accident because an attribute was left out.
 */
import { z } from "zod";
import type { JsonValue } from "../config/types.js";

export const Operators = ["eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "contains"] as const;
export type Operator = (typeof Operators)[number];

export interface Condition {
  /** Dotted path: `subject.role`, `resource.owner_id`, `context.ip`, `action`. */
  attribute: string;
  op: Operator;
  /** Literal to compare with (exactly one of `value` and `ref`). */
  value?: JsonValue;
  /** Another attribute to compare with, e.g. `subject.id`. */
  ref?: string;
}

/** Any JSON value; one instance, so the control plane can publish it as a single named schema. */
export const JsonValueSchema = z.json();

const PATH = z.string().regex(/^(subject|resource|context)(\.[A-Za-z0-9_-]+)+$|^action$/, "subject.*, resource.*, context.* or action");

export const ConditionSchema = z
  .object({ attribute: PATH, op: z.enum(Operators), value: JsonValueSchema.optional(), ref: PATH.optional() })
  .refine((c) => (c.value === undefined) !== (c.ref === undefined), "give exactly one of value and ref")
  .refine((c) => !(c.op === "in" || c.op === "not_in") || c.ref !== undefined || Array.isArray(c.value), "in / not_in need an array value");

export interface EvaluationInput {
  subject: Record<string, unknown>;
  action: string;
  resource: Record<string, unknown>;
  context?: Record<string, unknown>;
}

const MISSING = Symbol("missing");

export function readAttribute(input: EvaluationInput, path: string): unknown {
  if (path === "action") return input.action;
  const [root, ...rest] = path.split(".");
  let current: unknown = root === "subject" ? input.subject : root === "resource" ? input.resource : input.context;
  for (const part of rest) {
    if (current === null || typeof current !== "object" || !Object.prototype.hasOwnProperty.call(current, part)) return MISSING;
    current = (current as Record<string, unknown>)[part];
  }
  return current === undefined ? MISSING : current;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Numbers with numbers, strings with strings (ISO dates compare correctly as strings); else false. */
function compare(a: unknown, b: unknown, test: (order: number) => boolean): boolean {
  if (typeof a === "number" && typeof b === "number") return test(a === b ? 0 : a < b ? -1 : 1);
  if (typeof a === "string" && typeof b === "string") return test(a === b ? 0 : a < b ? -1 : 1);
  return false;
}

export function evaluateCondition(condition: Condition, input: EvaluationInput): boolean {
  const left = readAttribute(input, condition.attribute);
  const right = condition.ref !== undefined ? readAttribute(input, condition.ref) : condition.value;
  if (left === MISSING || right === MISSING || right === undefined) return false;
  switch (condition.op) {
    case "eq":
      return equal(left, right);
    case "neq":
      return !equal(left, right);
    case "in":
      return Array.isArray(right) && right.some((r) => equal(left, r));
    case "not_in":
      return Array.isArray(right) && !right.some((r) => equal(left, r));
    case "gt":
      return compare(left, right, (o) => o > 0);
    case "gte":
      return compare(left, right, (o) => o >= 0);
    case "lt":
      return compare(left, right, (o) => o < 0);
    case "lte":
      return compare(left, right, (o) => o <= 0);
    case "contains":
      if (Array.isArray(left)) return left.some((l) => equal(l, right));
      return typeof left === "string" && typeof right === "string" && left.includes(right);
  }
}
