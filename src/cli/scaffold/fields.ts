/**
 * `--fields "title:String,amount:Decimal?,ssn:String@encrypted"`: parsed and checked here, before
 * anything is written, against the same rules the generator applies later — so a scaffold that
 * succeeds is one `prisma generate` accepts.
 */
import { StratumError } from "../../core/errors.js";

export const PRISMA_SCALARS = ["String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes"] as const;
export type PrismaScalar = (typeof PRISMA_SCALARS)[number];

export const FIELD_MODIFIERS = ["encrypted", "subject", "unique"] as const;
export type FieldModifier = (typeof FIELD_MODIFIERS)[number];

export interface FieldSpec {
  name: string;
  type: PrismaScalar;
  optional: boolean;
  list: boolean;
  /** `/// @stratum.encrypted`: stored as ciphertext, so String only and never in an index. */
  encrypted: boolean;
  /** `/// @stratum.subject`: the data subject for GDPR export / purge (at most one per model). */
  subject: boolean;
  /** A unique per tenant: `@@unique([tenant_id, name])` (docs/architecture.md §4 rule 5), plain `@unique` on global models. */
  unique: boolean;
}

/** Fields every scaffolded model already has, or that stratum gives meaning to. */
export const RESERVED_FIELD_NAMES = ["id", "tenant_id", "tenantId", "created_at", "updated_at"] as const;

const FIELD_NAME = /^[a-z][A-Za-z0-9_]{0,62}$/;

function refuse(message: string): never {
  throw new StratumError("VALIDATION_FAILED", message);
}

const USAGE = `Write fields as name:Type, comma-separated, e.g. --fields "title:String,amount:Decimal?,tags:String[],ssn:String?@encrypted"`;

function isScalar(type: string): type is PrismaScalar {
  return (PRISMA_SCALARS as readonly string[]).includes(type);
}

function isModifier(name: string): name is FieldModifier {
  return (FIELD_MODIFIERS as readonly string[]).includes(name);
}

function parseOne(item: string): FieldSpec {
  const colon = item.indexOf(":");
  if (colon < 0) refuse(`Field "${item}" has no type. ${USAGE}.`);
  const name = item.slice(0, colon).trim();
  const rest = item.slice(colon + 1).replace(/\s+/g, "");
  if (!FIELD_NAME.test(name)) {
    refuse(`Field name "${name}" is not valid: start with a lowercase letter, then letters, digits or _ (at most 63), e.g. "due_date" or "dueDate".`);
  }
  const match = /^([A-Za-z]+)(\[\]|\?)?((?:@[A-Za-z]+)*)$/.exec(rest);
  if (!match)
    refuse(`Field ${name}: cannot read type "${rest}". ${USAGE}; append ? for optional, [] for a list, @encrypted / @subject / @unique for stratum's tags.`);
  const type = match[1] ?? "";
  if (!isScalar(type)) {
    const hint = PRISMA_SCALARS.find((s) => s.toLowerCase() === type.toLowerCase());
    refuse(
      `Field ${name}: "${type}" is not a Prisma scalar type${hint ? ` (did you mean ${hint}?)` : ""}. ` +
        `Use one of ${PRISMA_SCALARS.join(", ")}; for a relation use --relation <Model>, for an enum add the field by hand after scaffolding.`,
    );
  }
  const modifiers = (match[3] ?? "").split("@").filter((m) => m !== "");
  for (const m of modifiers) {
    if (!isModifier(m)) refuse(`Field ${name}: unknown modifier @${m}. Known: ${FIELD_MODIFIERS.map((x) => `@${x}`).join(", ")}.`);
  }
  const spec: FieldSpec = {
    name,
    type,
    optional: match[2] === "?",
    list: match[2] === "[]",
    encrypted: modifiers.includes("encrypted"),
    subject: modifiers.includes("subject"),
    unique: modifiers.includes("unique"),
  };
  if (spec.encrypted && (spec.type !== "String" || spec.list)) {
    refuse(
      `Field ${name}: @encrypted needs a String field (it stores ciphertext), not ${type}${spec.list ? "[]" : ""}. Store the value as a string (e.g. ${name}:String@encrypted) and convert in your code.`,
    );
  }
  if (spec.encrypted && spec.unique) {
    refuse(
      `Field ${name}: @encrypted and @unique cannot go together: ciphertext is randomized, so equal values never collide. Keep a keyed hash of the value in a separate @unique field if you need lookups.`,
    );
  }
  if (spec.unique && (spec.list || spec.type === "Json")) {
    refuse(`Field ${name}: @unique needs a single, comparable value; ${type}${spec.list ? "[]" : ""} is not one.`);
  }
  if (spec.subject && spec.list) refuse(`Field ${name}: @subject needs a single value (the subject's id), not a list.`);
  return spec;
}

/**
 * Parses `--fields`. `taken` maps names the model already uses to why (e.g. "part of every
 * scaffolded model"), so the refusal can say it.
 */
export function parseFields(input: string | undefined, taken: ReadonlyMap<string, string>): FieldSpec[] {
  if (input === undefined || input.trim() === "") return [];
  const specs = input
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map(parseOne);
  const seen = new Map(taken);
  for (const spec of specs) {
    const owner = seen.get(spec.name);
    if (owner) refuse(`Field ${spec.name} is ${owner}; leave it out of --fields or rename it.`);
    seen.set(spec.name, "given twice in --fields");
  }
  const subjects = specs.filter((s) => s.subject);
  if (subjects.length > 1) refuse(`@subject is on ${subjects.map((s) => s.name).join(", ")}; mark exactly one field as the data subject.`);
  return specs;
}
