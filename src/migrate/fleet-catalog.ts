/**
 * What a fleet run reads before it touches a home. The template is the main database's `public`
 * tenant tables; its fingerprint covers everything a home's sync depends on (tables, columns,
 * constraints, indexes, the enums, the RLS and grants stratum would apply, and for DATABASE homes
 * the scope keys they carry a copy of). Each home keeps a marker — the fingerprint it was last
 * brought level with — in its own catalog comment (COMMENT ON SCHEMA / ON DATABASE), written in
 * the same transaction as its migration, so a kill leaves each home either fully migrated and
 * marked or untouched. Reading markers costs one query on the main database for every SCHEMA home
 * and one query per server for every DATABASE home there (pg_database is shared by a server's
 * databases): a fleet that is already current costs a handful of catalog queries, whatever its size.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { ident } from "../sql/security.js";
import { describeTables, tenantDatabaseBaseDdl, tenantEnumsDdl, tenantSecurityDdl, type TableCatalog, type TenantTable } from "../isolation/ddl.js";
import type { AdminAccess } from "../isolation/strategy.js";

export type HomeStrategy = "SCHEMA" | "DATABASE";

export interface FleetHome {
  tenant_id: string;
  strategy: HomeStrategy;
  /** Schema name (SCHEMA) or `<server>/<database>` (DATABASE). */
  placement: string;
  /** The server a DATABASE home lives on; null for SCHEMA homes (they live in the main database). */
  server: string | null;
}

export interface FleetTemplate {
  catalog: TableCatalog;
  /** CREATE TYPE … for the enums the tenant tables use (a tenant database needs its own). */
  enums: string[];
  /** The main database's scope keys, carried into every tenant database. */
  keys: Array<{ id: number; key: string }>;
  /** The last migration applied to the main database (shown in markers, for people). */
  migration: string | null;
  fingerprint: Record<HomeStrategy, string>;
}

export interface HomeMarker {
  fingerprint: string;
  migration: string | null;
  synced: string | null;
}

/**
 * Bumped when what a sync does changes in a way the DDL text below does not show (syncPlan's
 * rules), so homes marked by an older version are synced again.
 */
const SYNC_FORMAT = "fleet-sync/1";
/** Stands in for the home's id and schema when hashing the DDL every home of a strategy gets. */
const SAMPLE_TENANT = "00000000-0000-4000-8000-000000000000";
const SAMPLE_SCHEMA = "t_00000000000040008000000000000000";

export interface FleetDeps {
  admin: AdminAccess;
  tenantTables: readonly TenantTable[];
  appRole: string;
}

/** Every SCHEMA and DATABASE home (or those of `tenantIds`), oldest tenant first. */
export async function listHomes(main: pg.Client, tenantIds: readonly string[] | undefined): Promise<FleetHome[]> {
  const { rows } = await main.query<{ id: string; isolation_strategy: HomeStrategy; placement: string }>(
    `SELECT id, isolation_strategy, placement FROM public.stratum_tenants
      WHERE isolation_strategy IN ('SCHEMA', 'DATABASE') AND placement IS NOT NULL
        AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[])) ORDER BY created_at, id`,
    [tenantIds ?? null],
  );
  return rows.map((r) => ({
    tenant_id: r.id,
    strategy: r.isolation_strategy,
    placement: r.placement,
    server: r.isolation_strategy === "DATABASE" ? r.placement.slice(0, Math.max(0, r.placement.indexOf("/"))) : null,
  }));
}

/** Reads the template and computes each strategy's fingerprint (in one read-only transaction). */
export async function readTemplate(main: pg.Client, deps: FleetDeps): Promise<FleetTemplate> {
  const names = deps.tenantTables.map((t) => t.table);
  await main.query("BEGIN READ ONLY");
  try {
    const catalog = await describeTables(main, "public", names);
    const enums = await tenantEnumsDdl(main, deps.tenantTables);
    const keys = (await main.query<{ id: number; key: string }>("SELECT id, key FROM public.stratum_scope_keys ORDER BY id")).rows;
    const migration =
      (
        await main.query<{ name: string | null }>(
          `SELECT CASE WHEN to_regclass('public._prisma_migrations') IS NULL THEN NULL ELSE
           (SELECT max(migration_name) FROM public._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL) END AS name`,
        )
      ).rows[0]?.name ?? null;
    await main.query("COMMIT");
    return { catalog, enums, keys, migration, fingerprint: fingerprints(catalog, enums, keys, deps) };
  } catch (error) {
    await main.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

function fingerprints(catalog: TableCatalog, enums: string[], keys: FleetTemplate["keys"], deps: FleetDeps): Record<HomeStrategy, string> {
  // Index rows come in catalog order; sort them so the same template always hashes the same.
  const indexes = [...catalog.indexes].sort((a, b) => `${a.table_name}.${a.name}`.localeCompare(`${b.table_name}.${b.name}`));
  const template = JSON.stringify({ columns: catalog.columns, constraints: catalog.constraints, indexes });
  const hash = (...parts: string[]) => {
    const h = createHash("sha256");
    for (const part of [SYNC_FORMAT, template, ...parts]) h.update(part).update("\0");
    return h.digest("hex").slice(0, 32);
  };
  return {
    SCHEMA: hash("SCHEMA", ...tenantSecurityDdl(deps.tenantTables, SAMPLE_SCHEMA, deps.appRole, true, SAMPLE_TENANT)),
    DATABASE: hash(
      "DATABASE",
      ...tenantDatabaseBaseDdl(deps.appRole),
      ...enums,
      ...tenantSecurityDdl(deps.tenantTables, "public", deps.appRole, false, SAMPLE_TENANT),
      // A rotated key must reach every tenant database: the keys are part of what a home is level with.
      ...keys.map((k) => `${k.id}:${createHash("sha256").update(k.key).digest("hex")}`),
    ),
  };
}

const MARKER = /^stratum home fingerprint=([0-9a-f]{32})(?: migration=(\S+))?(?: synced=(\S+))?/;

export function parseMarker(comment: string | null): HomeMarker | null {
  const match = comment ? MARKER.exec(comment) : null;
  if (!match) return null;
  return { fingerprint: match[1]!, migration: match[2] && match[2] !== "none" ? match[2] : null, synced: match[3] ?? null };
}

/** The statement that marks a home level with `template` (run inside the home's migration transaction). */
export function markerSql(home: FleetHome, template: FleetTemplate): string {
  const migration = (template.migration ?? "none").replace(/[^A-Za-z0-9_.-]/g, "_");
  const text = `stratum home fingerprint=${template.fingerprint[home.strategy]} migration=${migration} synced=${new Date().toISOString()}`;
  return home.strategy === "SCHEMA" ? `COMMENT ON SCHEMA ${ident(home.placement)} IS '${text}'` : `COMMENT ON DATABASE ${ident(databaseOf(home))} IS '${text}'`;
}

export function databaseOf(home: FleetHome): string {
  return home.placement.slice(home.placement.indexOf("/") + 1);
}

export interface MarkerRead {
  markers: Map<string, HomeMarker | null>;
  /** Servers whose catalog could not be read, with the reason: their homes fail, the others go on. */
  unreachable: Map<string, string>;
}

/**
 * Every home's marker: SCHEMA homes from the main database's pg_namespace, DATABASE homes from
 * each server's pg_database — one query each, and one short connection per server.
 */
export async function readMarkers(main: pg.Client, admin: AdminAccess, homes: readonly FleetHome[]): Promise<MarkerRead> {
  const markers = new Map<string, HomeMarker | null>();
  const unreachable = new Map<string, string>();
  const record = (list: readonly FleetHome[], rows: Array<{ name: string; comment: string | null }>, nameOf: (h: FleetHome) => string) => {
    const comments = new Map(rows.map((r) => [r.name, r.comment]));
    for (const home of list) markers.set(home.tenant_id, parseMarker(comments.get(nameOf(home)) ?? null));
  };
  const schemaHomes = homes.filter((h) => h.strategy === "SCHEMA");
  if (schemaHomes.length > 0) {
    const { rows } = await main.query<{ name: string; comment: string | null }>(
      "SELECT nspname AS name, obj_description(oid, 'pg_namespace') AS comment FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[])",
      [schemaHomes.map((h) => h.placement)],
    );
    record(schemaHomes, rows, (h) => h.placement);
  }
  const byServer = new Map<string, FleetHome[]>();
  for (const home of homes.filter((h) => h.strategy === "DATABASE")) byServer.set(home.server!, [...(byServer.get(home.server!) ?? []), home]);
  await Promise.all(
    [...byServer].map(async ([server, list]) => {
      let client: pg.Client | undefined;
      try {
        client = await admin.server(server);
        const { rows } = await client.query<{ name: string; comment: string | null }>(
          "SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = ANY($1::text[])",
          [list.map(databaseOf)],
        );
        record(list, rows, databaseOf);
      } catch (error) {
        unreachable.set(server, (error as Error).message);
      } finally {
        await client?.end().catch(() => undefined);
      }
    }),
  );
  return { markers, unreachable };
}
