/**
 * What `doctor` checks besides the connection's safety: the state of the data an operator would
 * otherwise find by accident. Tenant tables without an index leading with the tenant column
 * (every scoped statement would scan them), and — with the scope key, which lets doctor read
 * stratum's admin-only tables through the app connection — orphaned tenants (a path that no longer
 * sits under its parent's), a tree close to the depth limit, expired keys never revoked and keys
 * nobody uses, and sealed config values with no (or a malformed) encryption key to open them.
 */
import type pg from "pg";
import { createKeyring } from "../crypto/index.js";
import { isStratumError } from "../core/errors.js";
import { ADMIN_TENANT_ID, signScope } from "../sql/protocol.js";

export interface InventoryOptions {
  /** Tenant tables and their tenant column. */
  tables: ReadonlyArray<{ table: string; tenantColumn: string }>;
  /** STRATUM_SCOPE_KEY: without it, the checks of stratum's own tables are skipped (and said so). */
  scopeKey?: string;
  /** STRATUM_ENCRYPTION_KEY (base64, 32 bytes). */
  encryptionKey?: string;
  /** Live keys unused for longer than this are reported; default 90. */
  staleKeyDays?: number;
}

export interface InventoryReport {
  problems: string[];
  warnings: string[];
  /** Checks not run, with what they need. */
  skipped: string[];
}

/** The depth constraint of stratum_tenants (0-19): warn this close to it. */
const MAX_DEPTH = 19;
const DEPTH_MARGIN = 3;

async function unindexed(client: pg.Client, tables: InventoryOptions["tables"]): Promise<string[]> {
  const { rows } = await client.query<{ name: string; col: string }>(
    `SELECT t.name, t.col FROM unnest($1::text[], $2::text[]) AS t(name, col)
      WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                         WHERE i.indrelid = pg_catalog.to_regclass(format('public.%I', t.name)) AND a.attname = t.col)
      ORDER BY t.name`,
    [tables.map((t) => t.table), tables.map((t) => t.tenantColumn)],
  );
  return rows.map((r) => `${r.name} (${r.col})`);
}

function encryptionKeyProblem(key: string): string | null {
  try {
    createKeyring({ keys: { 1: key } });
    return null;
  } catch (error) {
    if (isStratumError(error)) return `the encryption key is unusable: ${error.message}`;
    throw error;
  }
}

/** Reads stratum's tables under the signed admin scope, in one read-only transaction. */
async function adminChecks(client: pg.Client, options: InventoryOptions & { scopeKey: string }, out: InventoryReport): Promise<void> {
  await client.query("BEGIN READ ONLY");
  try {
    await client.query("SELECT set_config('stratum.tenant_id', $1, true), set_config('search_path', 'pg_catalog, public, pg_temp', true)", [
      signScope(options.scopeKey, ADMIN_TENANT_ID, "a"),
    ]);
    const held = await client.query<{ held: boolean }>("SELECT EXISTS (SELECT 1 FROM public.stratum_scope_current WHERE mode = 'a') AS held");
    if (!held.rows[0]?.held) {
      out.problems.push("the scope key does not match the database's (stratum's tables read as empty): use the key `stratum-prisma migrate` installed");
      return;
    }
    const orphans = await client.query<{ slug: string }>(
      `SELECT t.slug FROM public.stratum_tenants t LEFT JOIN public.stratum_tenants p ON p.id = t.parent_id
        WHERE t.parent_id IS NOT NULL AND (p.id IS NULL OR NOT (t.path OPERATOR(public.<@) p.path) OR public.nlevel(t.path) <> public.nlevel(p.path) + 1)
        ORDER BY t.slug LIMIT 50`,
    );
    if (orphans.rows.length) out.problems.push(`orphaned tenants (their path is not under their parent's): ${orphans.rows.map((r) => r.slug).join(", ")}`);
    const depth = (await client.query<{ max: number | null }>("SELECT max(depth)::int AS max FROM public.stratum_tenants")).rows[0]?.max ?? 0;
    if (depth >= MAX_DEPTH - DEPTH_MARGIN)
      out.warnings.push(`the tree is ${depth + 1} levels deep, of at most ${MAX_DEPTH + 1}: tenants below depth ${MAX_DEPTH} cannot be created`);
    const keys = (
      await client.query<{ expired: number; stale: number }>(
        `SELECT count(*) FILTER (WHERE expires_at <= now())::int AS expired,
                count(*) FILTER (WHERE (expires_at IS NULL OR expires_at > now()) AND coalesce(last_used_at, created_at) < now() - make_interval(days => $1::int))::int AS stale
           FROM public.stratum_api_keys WHERE revoked_at IS NULL`,
        [options.staleKeyDays ?? 90],
      )
    ).rows[0]!;
    if (keys.expired) out.warnings.push(`${keys.expired} API key(s) expired but never revoked (revoke them: stratum-prisma keys revoke <id>)`);
    if (keys.stale)
      out.warnings.push(`${keys.stale} live API key(s) unused for more than ${options.staleKeyDays ?? 90} days (GET /api/v1/api-keys/dormant lists them)`);
    const sealed =
      (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM public.stratum_config WHERE encrypted_value IS NOT NULL")).rows[0]?.n ?? 0;
    if (sealed > 0 && !options.encryptionKey)
      out.problems.push(`${sealed} sensitive config value(s) are encrypted but no encryption key was given (STRATUM_ENCRYPTION_KEY): they cannot be read`);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}

export async function inventory(client: pg.Client, options: InventoryOptions): Promise<InventoryReport> {
  const out: InventoryReport = { problems: [], warnings: [], skipped: [] };
  const missing = await unindexed(client, options.tables);
  if (missing.length)
    out.problems.push(`tenant tables without an index leading with their tenant column (each scoped query scans them): ${missing.join(", ")}`);
  if (options.encryptionKey) {
    const problem = encryptionKeyProblem(options.encryptionKey);
    if (problem) out.problems.push(problem);
  }
  if (options.scopeKey) await adminChecks(client, { ...options, scopeKey: options.scopeKey }, out);
  else out.skipped.push("orphaned tenants, tree depth, expired and stale API keys, sealed config values: give --scope-key or STRATUM_SCOPE_KEY");
  return out;
}
