/**
 * Opt-in field encryption of the user's models (`/// @stratum.encrypted` in the schema, listed in
 * the generated metadata as `encryptedFields`). The extension's query hooks call `encryptFields`
 * on every write and `decryptFields` on every row read.
 *
 * The associated data binds each value to `{ tenantId, table, column, rowId }` where `table` and
 * `column` are database names (after @@map / @map, without a schema, so a value stays readable
 * when the isolation layer moves the row to another schema or database), `rowId` is the row's
 * single-column primary key as a string, and `tenantId` is the row's tenant (the literal
 * "global" for models that have none).
 *
 * Creates: when the data carries no id, `encryptFields` generates a UUID, sets it in the returned
 * data and binds the ciphertext to it; so an encrypted model's id must be a String (uuid) field, or
 * the caller must always pass the id. Updates: the row id comes from `rowId` (the extension takes
 * it from the unique `where`); a bulk update (updateMany) of an encrypted field has no single row
 * to bind to and is refused. Changing the id of a row holding encrypted values is not supported.
 */
import { randomUUID } from "node:crypto";
import { StratumError } from "../core/errors.js";
import type { StratumModel } from "../core/models.js";
import type { CipherContext, ValueCipher } from "../core/ports.js";

export const GLOBAL_TENANT = "global";

/** The parts of the generated model metadata the helpers read. */
export type EncryptedModelMeta = Pick<StratumModel, "name" | "table" | "primaryKey" | "fields" | "encryptedFields"> &
  Partial<Pick<StratumModel, "tenantField">>;

export interface EncryptFieldsContext {
  cipher: ValueCipher;
  /** The scoped tenant; must match the data's tenant field when both are present. */
  tenantId?: string;
  /** The id of the row being updated (from the unique `where`). */
  rowId?: string | number | bigint;
  /** "create" (default) may generate the id; "update" needs it from the data or `rowId`. */
  operation?: "create" | "update";
}

export interface DecryptFieldsContext {
  cipher: ValueCipher;
  tenantId?: string;
  /** Return values that are not sealed as they are (a column being migrated to encryption). */
  allowPlaintext?: boolean;
}

function idFieldOf(model: EncryptedModelMeta): { name: string; column: string; type: string } {
  if (model.primaryKey.length !== 1) {
    throw new StratumError("ENCRYPTION_FAILED", `Model ${model.name} has encrypted fields but no single-column primary key to bind them to.`);
  }
  const name = model.primaryKey[0]!;
  const field = model.fields.find((f) => f.name === name);
  return { name, column: field?.column ?? name, type: field?.type ?? "String" };
}

function columnOf(model: EncryptedModelMeta, fieldName: string): string {
  return model.fields.find((f) => f.name === fieldName)?.column ?? fieldName;
}

function tenantOf(model: EncryptedModelMeta, record: Record<string, unknown>, scoped: string | undefined): string {
  if (!model.tenantField) return scoped ?? GLOBAL_TENANT;
  const own = record[model.tenantField];
  if (typeof own === "string" && own.length > 0) {
    if (scoped !== undefined && scoped !== own) {
      throw new StratumError("TENANT_SCOPE_VIOLATION", `Row of ${model.name} belongs to another tenant than the scope.`, { model: model.name });
    }
    return own;
  }
  if (scoped === undefined) {
    throw new StratumError("NO_TENANT_CONTEXT", `Encrypted fields of ${model.name} need the tenant: select ${model.tenantField} or run in a tenant scope.`);
  }
  return scoped;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids and tenant ids as PostgreSQL prints them (`id::text`): UUIDs lower-cased. */
export function normalizeBindingId(value: string): string {
  return UUID_RE.test(value) ? value.toLowerCase() : value;
}

function context(model: EncryptedModelMeta, tenantId: string, field: string, rowId: string): CipherContext {
  return { tenantId: normalizeBindingId(tenantId), table: model.table, column: columnOf(model, field), rowId: normalizeBindingId(rowId) };
}

/** A copy of `data` with the model's encrypted fields sealed (and the id set on creates). */
export function encryptFields<T extends Record<string, unknown>>(model: EncryptedModelMeta, data: T, ctx: EncryptFieldsContext): T & Record<string, unknown> {
  const present = model.encryptedFields.filter((f) => data[f] !== undefined);
  if (present.length === 0) return data;
  const out: Record<string, unknown> = { ...data };
  const id = idFieldOf(model);
  let rowId: unknown = data[id.name] ?? ctx.rowId;
  if (rowId !== null && typeof rowId === "object" && "set" in rowId) rowId = (rowId as { set: unknown }).set;
  if (rowId === undefined || rowId === null) {
    if ((ctx.operation ?? "create") === "update") {
      throw new StratumError(
        "ENCRYPTION_FAILED",
        `Updating encrypted fields of ${model.name} needs the row id (update by id; updateMany cannot bind ciphertexts to rows).`,
      );
    }
    if (id.type !== "String") {
      throw new StratumError(
        "ENCRYPTION_FAILED",
        `Creating ${model.name} with encrypted fields needs an explicit ${id.name}: it is not a String id stratum can generate.`,
      );
    }
    rowId = randomUUID();
    out[id.name] = rowId;
  }
  const tenantId = tenantOf(model, data, ctx.tenantId);
  for (const field of present) {
    const value = data[field];
    const ctxFor = context(model, tenantId, field, String(rowId));
    if (value === null) continue;
    if (typeof value === "string") {
      out[field] = ctx.cipher.encrypt(value, ctxFor);
    } else if (typeof value === "object" && value !== null && Object.keys(value).length === 1 && "set" in value) {
      const inner = (value as { set: unknown }).set;
      if (inner !== null && typeof inner !== "string") {
        throw new StratumError("ENCRYPTION_FAILED", `Encrypted field ${model.name}.${field} takes a string.`);
      }
      out[field] = { set: inner === null ? null : ctx.cipher.encrypt(inner, ctxFor) };
    } else {
      throw new StratumError("ENCRYPTION_FAILED", `Encrypted field ${model.name}.${field} takes a string (or { set: string }).`);
    }
  }
  return out as T & Record<string, unknown>;
}

/** A copy of `row` with the model's encrypted fields opened. Fields not selected are left alone. */
export function decryptFields<T extends Record<string, unknown>>(model: EncryptedModelMeta, row: T, ctx: DecryptFieldsContext): T {
  const present = model.encryptedFields.filter((f) => typeof row[f] === "string");
  if (present.length === 0) return row;
  const id = idFieldOf(model);
  const rowId = row[id.name];
  if (rowId === undefined || rowId === null) {
    throw new StratumError("DECRYPTION_FAILED", `Reading encrypted fields of ${model.name} needs ${id.name} in the selection.`);
  }
  const tenantId = tenantOf(model, row, ctx.tenantId);
  const out: Record<string, unknown> = { ...row };
  for (const field of present) {
    const value = row[field] as string;
    if (!value.startsWith("stratum:v")) {
      if (ctx.allowPlaintext) continue;
      throw new StratumError("DECRYPTION_FAILED", `${model.name}.${field} holds a value that is not sealed.`);
    }
    out[field] = ctx.cipher.decrypt(value, context(model, tenantId, field, String(rowId)));
  }
  return out as T;
}
