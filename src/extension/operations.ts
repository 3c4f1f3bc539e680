/** Facts about Prisma operations the scoping layer needs. */
import type { StratumModels } from "../core/models.js";

/** A model delegate's writes. */
const MODEL_WRITES = ["create", "createMany", "createManyAndReturn", "update", "updateMany", "updateManyAndReturn", "upsert", "delete", "deleteMany"] as const;

/** Every operation of a model delegate that `$tenant` scopes. */
export const MODEL_OPERATIONS: ReadonlySet<string> = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  ...MODEL_WRITES,
  "aggregate",
  "groupBy",
  "count",
]);

const WRITES: ReadonlySet<string> = new Set([...MODEL_WRITES, "$executeRaw", "$executeRawUnsafe", "executeRaw"]);

export function isWriteOperation(operation: string): boolean {
  return WRITES.has(operation);
}

/**
 * findUnique(OrThrow) → findFirst(OrThrow) with the same filter. Compound unique selectors
 * (`tenant_id_email: { tenant_id, email }`) are flattened into plain field filters, which is what
 * they mean; findFirst accepts everything else a unique filter may hold.
 */
export function uniqueToFirst(
  models: StratumModels,
  model: string,
  operation: string,
  args: unknown,
): { operation: "findFirst" | "findFirstOrThrow"; args: unknown } | null {
  if (operation !== "findUnique" && operation !== "findUniqueOrThrow") return null;
  const meta = models.models[model];
  const input = (args ?? {}) as { where?: Record<string, unknown> } & Record<string, unknown>;
  const where: Record<string, unknown> = { ...(input.where ?? {}) };
  const compounds = new Map<string, readonly string[]>();
  for (const u of [...(meta?.uniques ?? []), { fields: meta?.primaryKey ?? [] }]) {
    if (u.fields.length > 1) {
      compounds.set(u.fields.join("_"), u.fields);
      if ("name" in u && u.name) compounds.set(u.name, u.fields);
    }
  }
  for (const [key, value] of Object.entries(where)) {
    const fields = compounds.get(key);
    if (fields && value && typeof value === "object") {
      delete where[key];
      Object.assign(where, value);
    }
  }
  return { operation: operation === "findUnique" ? "findFirst" : "findFirstOrThrow", args: { ...input, where } };
}
