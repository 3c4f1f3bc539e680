/**
 * Key rotation: re-encrypts every sealed value that is not under the keyring's current version.
 *
 * Resumption is stateless: there is no progress table. Each run scans for values whose prefix is
 * not `stratum:v<current>:`, so an interrupted (or aborted) run is resumed by running again, and
 * rows rotated before the interruption are not touched twice. Within a run, targets are walked in
 * primary-key order (keyset pagination); each batch is one transaction that locks its rows with
 * `FOR UPDATE SKIP LOCKED` and writes each new ciphertext with a compare-and-set on the old one,
 * so concurrent writers are never overwritten. Rows skipped because they were locked, or whose
 * value failed to decrypt, are left as they are and reported (`remaining`, `failed`).
 *
 * Plaintext exists only in memory between decrypt and encrypt; only sealed values are written.
 *
 * The `Db` must reach the target rows. Stratum's own `stratum_config` is reachable on the admin
 * handle; the user's tenant tables are behind RLS, so rotate them with an owner connection, or
 * once per tenant schema / database (`schema` on the target) through the isolation layer.
 */
import { StratumError } from "../core/errors.js";
import type { Db } from "../core/db.js";
import type { StratumModels } from "../core/models.js";
import type { FieldCipher } from "./cipher.js";
import { GLOBAL_TENANT } from "./fields.js";

export interface RotationTarget {
  /** Database table name (as in the AAD), without schema. */
  table: string;
  /** Schema holding the table for this run (default: the search_path's). Not part of the AAD. */
  schema?: string;
  idColumn: string;
  /** Column of the tenant id, or null for a global table (AAD tenant "global"). */
  tenantColumn: string | null;
  /** Sealed columns; `{ column, aadColumn }` when the AAD names another column than the one storing it. */
  columns: readonly (string | RotationColumn)[];
}

export interface RotationColumn {
  /** Where the sealed value is stored. */
  column: string;
  /** The column name bound in the AAD. */
  aadColumn: string;
}

/**
 * stratum_config's sensitive values. The config service seals `JSON.stringify(value)` bound to
 * `{ tenantId: tenant_id, table: "stratum_config", column: "value", rowId: id }` and stores it in
 * `encrypted_value` (the AAD names the logical column).
 */
export const CONFIG_ROTATION_TARGET: RotationTarget = Object.freeze({
  table: "stratum_config",
  // Named, so the rotation's SQL never resolves the table through a session's search_path.
  schema: "public",
  idColumn: "id",
  tenantColumn: "tenant_id",
  columns: Object.freeze([Object.freeze({ column: "encrypted_value", aadColumn: "value" })]),
});

/** The AAD of a sensitive config value, as the config service binds it. */
export function configCipherContext(tenantId: string, rowId: string): { tenantId: string; table: string; column: string; rowId: string } {
  return { tenantId, table: "stratum_config", column: "value", rowId };
}

/** Rotation targets for every model with encrypted fields in the generated metadata. */
export function rotationTargetsFromModels(models: Pick<StratumModels, "models">): RotationTarget[] {
  const targets: RotationTarget[] = [];
  for (const model of Object.values(models.models)) {
    if (model.encryptedFields.length === 0) continue;
    if (model.primaryKey.length !== 1) {
      throw new StratumError("ENCRYPTION_FAILED", `Model ${model.name} has encrypted fields but no single-column primary key.`);
    }
    const col = (name: string) => model.fields.find((f) => f.name === name)?.column ?? name;
    targets.push({
      table: model.table,
      idColumn: col(model.primaryKey[0]!),
      tenantColumn: model.tenantColumn ?? null,
      columns: model.encryptedFields.map(col),
    });
  }
  return targets;
}

export interface RotationProgress {
  table: string;
  /** Values re-encrypted so far in this target. */
  rotated: number;
  /** Rows looked at so far in this target. */
  scanned: number;
  /** Rows needing rotation when this target started. */
  total: number;
  failed: number;
}

export interface RotationFailure {
  table: string;
  id: string;
  column: string;
  code: string;
}

export interface RotationResult {
  version: number;
  aborted: boolean;
  targets: Array<{ table: string; schema?: string; rotated: number; failed: RotationFailure[]; remaining: number }>;
}

export interface RotateKeysOptions {
  cipher: FieldCipher;
  /** Default: stratum_config.encrypted_value only. Add `rotationTargetsFromModels(models)`. */
  targets?: readonly RotationTarget[];
  /** Rows per transaction (default 500). */
  batchSize?: number;
  onProgress?: (progress: RotationProgress) => void;
  /** Stops after the current batch; run again to resume. */
  signal?: AbortSignal;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
function q(name: string): string {
  if (!IDENT.test(name)) throw new StratumError("VALIDATION_FAILED", `Unsafe SQL identifier ${JSON.stringify(name)}.`);
  return `"${name}"`;
}

export async function rotateKeys(db: Db, options: RotateKeysOptions): Promise<RotationResult> {
  const { cipher } = options;
  const version = cipher.keyring.current;
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new StratumError("VALIDATION_FAILED", "batchSize must be an integer between 1 and 10000.");
  }
  const currentPrefix = `stratum:v${version}:`;
  const result: RotationResult = { version, aborted: false, targets: [] };

  for (const target of options.targets ?? [CONFIG_ROTATION_TARGET]) {
    if (target.columns.length === 0) continue;
    const columns = target.columns.map((c) => (typeof c === "string" ? { column: c, aadColumn: c } : c));
    const table = target.schema ? `${q(target.schema)}.${q(target.table)}` : q(target.table);
    const id = q(target.idColumn);
    const tenant = target.tenantColumn ? `${q(target.tenantColumn)}::text` : "NULL::text";
    const stale = columns.map(({ column: c }) => `(${q(c)} LIKE 'stratum:v%' AND ${q(c)} NOT LIKE $1)`).join(" OR ");
    const cols = columns.map(({ column: c }, i) => `${q(c)} AS c${i}`).join(", ");

    const total = Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${stale}`, [`${currentPrefix}%`]))[0]?.n ?? 0);
    const summary = { table: target.table, ...(target.schema ? { schema: target.schema } : {}), rotated: 0, failed: [] as RotationFailure[], remaining: 0 };
    let scanned = 0;
    let last: unknown = null;

    while (!options.signal?.aborted) {
      const batch = await db.transaction(async (tx) => {
        const rows = await tx.query<Record<string, unknown>>(
          `SELECT ${id} AS id, ${id}::text AS id_text, ${tenant} AS tenant_id, ${cols}
             FROM ${table}
            WHERE (${stale}) AND ($2::text IS NULL OR ${id} > $3)
            ORDER BY ${id}
            LIMIT ${batchSize}
              FOR UPDATE SKIP LOCKED`,
          [`${currentPrefix}%`, last === null ? null : String(last), last],
        );
        for (const row of rows) {
          const rowId = String(row["id_text"]);
          const tenantId = (row["tenant_id"] as string | null) ?? GLOBAL_TENANT;
          for (let i = 0; i < columns.length; i++) {
            const { column, aadColumn } = columns[i]!;
            const value = row[`c${i}`];
            if (typeof value !== "string" || !cipher.needsRotation(value)) continue;
            let sealed: string;
            try {
              sealed = cipher.reencrypt(value, { tenantId, table: target.table, column: aadColumn, rowId });
            } catch (error) {
              const code = error instanceof StratumError ? error.code : "INTERNAL";
              summary.failed.push({ table: target.table, id: rowId, column, code });
              continue;
            }
            summary.rotated += await tx.execute(`UPDATE ${table} SET ${q(column)} = $1 WHERE ${id} = $2 AND ${q(column)} = $3`, [sealed, row["id"], value]);
          }
        }
        return rows;
      });
      if (batch.length === 0) break;
      last = batch[batch.length - 1]!["id"];
      scanned += batch.length;
      options.onProgress?.({ table: target.table, rotated: summary.rotated, scanned, total, failed: summary.failed.length });
      if (batch.length < batchSize) break;
    }
    if (options.signal?.aborted) result.aborted = true;
    summary.remaining = Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${stale}`, [`${currentPrefix}%`]))[0]?.n ?? 0);
    result.targets.push(summary);
    if (result.aborted) break;
  }
  return result;
}
