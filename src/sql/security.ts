/**
 * The SQL Prisma cannot express: ltree maintenance, the scope functions the RLS policies call,
 * the policies themselves and the grants. Every statement is idempotent, so the same text can be
 * applied by `prisma migrate deploy`, by stratum's own migration runner, and again when a tenant
 * schema or database is provisioned.
 *
 * Scope tokens. A scoped query carries `stratum.tenant_id = '<uuid>.<mode>.<sig>'` in a
 * transaction-local setting. `sig` is keyed with a secret only the owner role can read, so a raw
 * statement that calls `set_config('stratum.tenant_id', …)` cannot name another tenant: an
 * unsigned or mis-signed value matches nothing. Modes: `s` the tenant itself, `d` the tenant and
 * its descendants, `a` stratum's own services (its global tables, never tenant rows), `m` an
 * isolation move (the tenant's rows, in a home the route does not point at yet). The setting's
 * name, the modes, the admin tenant id and the signing recipe are the protocol (protocol.ts),
 * shared with the runtime. Used by the generator (the security migration) and by the runtime
 * (homes provisioned for SCHEMA and DATABASE tenants, moves).
 */
import { ADMIN_TENANT_ID as ADMIN_TENANT, SCOPE_KEY_TABLE, SCOPE_SETTING, SCOPE_SIGN_SQL, SCOPE_TOKEN_TABLE, TENANT_SCOPE_MODES } from "./protocol.js";

export { SCOPE_SETTING, SCOPE_TOKEN_TABLE } from "./protocol.js";

/** `(VALUES ('s'), ('d'), ('m'))`: the modes signed per tenant. */
const TENANT_MODES_SQL = `(VALUES ${TENANT_SCOPE_MODES.map((m) => `('${m}')`).join(", ")})`;

export interface SecuritySqlOptions {
  /** The role the application logs in as (not superuser, not owner, NOBYPASSRLS). */
  appRole: string;
  /** Tenant-scoped tables: name, the column holding the tenant id, and `/// @stratum.audit`. */
  tenantTables: ReadonlyArray<{ table: string; tenantColumn: string; audited?: boolean; idColumn?: string }>;
  /** Stratum's global tables the services use (the scope key table is never granted). */
  globalTables: readonly string[];
  /** Global tables the app role may read and insert into but never change (the audit log). */
  appendOnlyTables?: readonly string[];
  /** Global tables of the user's own (neither tenant-scoped nor stratum's): plain grants, no RLS. */
  userGlobalTables?: readonly string[];
}

export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name)) {
    throw new Error(`refusing to quote unsafe SQL identifier ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/**
 * Verification without hashing on the hot path. Hashing in SQL is what made the scope expensive
 * (PostgreSQL's sha256() goes through OpenSSL's EVP layer: tens of microseconds per statement), so
 * the signature is checked once, when a token is written, not on every statement:
 *
 * - `stratum_scope_tokens` holds every valid token (`<uuid>.<mode>.<sig>`, signed with the key in
 *   `stratum_scope_keys`), written by owner-only triggers when the key is installed or rotated and
 *   when a tenant is created or deleted. The app role can neither read nor write it.
 * - `stratum_scope_current` is a view, owned by the owner, that returns the one row whose token
 *   equals this statement's setting. Views read their tables with their owner's rights, so the
 *   policies can use it inline (an index probe in an InitPlan, no function call), while the app
 *   role learns nothing from it: it answers only for a token the caller already holds, and tokens
 *   are 256-bit signatures only stratum (holding the key) can produce.
 *
 * A raw `set_config('stratum.tenant_id', '<another uuid>…')` therefore matches no row: no rows.
 */
function scopeTokenSql(): string {
  const upsert = `ON CONFLICT (token) DO UPDATE SET key_id = EXCLUDED.key_id`;
  return `
CREATE TABLE IF NOT EXISTS public.${SCOPE_TOKEN_TABLE} (token text PRIMARY KEY, tenant_id uuid NOT NULL, mode text NOT NULL, key_id integer NOT NULL);
REVOKE ALL ON public.${SCOPE_TOKEN_TABLE} FROM PUBLIC;

-- The token format signScope() produces in stratum: sha256(key || hex(sha256(key || message))).
CREATE OR REPLACE FUNCTION public.stratum_scope_sign(k text, tid uuid, mode text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT ${SCOPE_SIGN_SQL}
$fn$;
REVOKE ALL ON FUNCTION public.stratum_scope_sign(text, uuid, text) FROM PUBLIC;

-- Writes the tokens of one tenant (modes s, d, m) under every installed key (the current one,
-- id 1, and during a rotation the previous one, id 2).
CREATE OR REPLACE FUNCTION public.stratum_scope_register(tid uuid) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  INSERT INTO public.${SCOPE_TOKEN_TABLE} (token, tenant_id, mode, key_id)
  SELECT public.stratum_scope_sign(k.key, tid, m.mode), tid, m.mode, k.id
    FROM public.${SCOPE_KEY_TABLE} k CROSS JOIN ${TENANT_MODES_SQL} AS m(mode)
  ON CONFLICT (token) DO NOTHING
$fn$;
REVOKE ALL ON FUNCTION public.stratum_scope_register(uuid) FROM PUBLIC;

-- A key row installed, changed or retired: its tokens are dropped and, unless retired, signed
-- again for every tenant this database knows, plus the admin token. Tokens are keyed by text, so
-- a value moving from row 1 to row 2 (a rotation) is re-labelled rather than duplicated,
-- whichever of the two rows' triggers runs first.
CREATE OR REPLACE FUNCTION public.stratum_scope_resign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  known uuid[];
BEGIN
  SELECT coalesce(array_agg(DISTINCT t.tenant_id), '{}') INTO known FROM public.${SCOPE_TOKEN_TABLE} t WHERE t.mode <> 'a';
  IF to_regclass('public.stratum_tenants') IS NOT NULL THEN
    EXECUTE 'SELECT $1 || coalesce(array_agg(id), ''{}'') FROM public.stratum_tenants' INTO known USING known;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM public.${SCOPE_TOKEN_TABLE} WHERE key_id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO public.${SCOPE_TOKEN_TABLE} (token, tenant_id, mode, key_id)
    VALUES (public.stratum_scope_sign(NEW.key, '${ADMIN_TENANT}'::uuid, 'a'), '${ADMIN_TENANT}'::uuid, 'a', NEW.id)
    ${upsert};
    INSERT INTO public.${SCOPE_TOKEN_TABLE} (token, tenant_id, mode, key_id)
    SELECT public.stratum_scope_sign(NEW.key, u.tid, m.mode), u.tid, m.mode, NEW.id
      FROM (SELECT DISTINCT unnest(known) AS tid) AS u CROSS JOIN ${TENANT_MODES_SQL} AS m(mode)
    ${upsert};
  END IF;
  RETURN NULL;
END $fn$;
REVOKE ALL ON FUNCTION public.stratum_scope_resign() FROM PUBLIC;
DROP TRIGGER IF EXISTS stratum_scope_resign ON public.${SCOPE_KEY_TABLE};
CREATE TRIGGER stratum_scope_resign AFTER INSERT OR UPDATE OF key OR DELETE ON public.${SCOPE_KEY_TABLE}
  FOR EACH ROW EXECUTE FUNCTION public.stratum_scope_resign();

CREATE OR REPLACE VIEW public.stratum_scope_current WITH (security_barrier) AS
  SELECT t.tenant_id, t.mode FROM public.${SCOPE_TOKEN_TABLE} t
   WHERE t.token = pg_catalog.current_setting('${SCOPE_SETTING}', true);
REVOKE ALL ON public.stratum_scope_current FROM PUBLIC;
GRANT SELECT ON public.stratum_scope_current TO PUBLIC;
`;
}

/** Tenant ids a statement may see, as an InitPlan: the scope's tenant, or it and its descendants. */
const SCOPE_TENANTS = `(SELECT CASE v.mode WHEN 'd' THEN public.stratum_scope_tenants() ELSE ARRAY[v.tenant_id] END
                FROM public.stratum_scope_current v WHERE v.mode <> 'a')`;
/**
 * The scope's own tenant, as a scalar InitPlan. `tenant_id = <scalar>` is what lets the planner
 * treat the column as a constant: it filters through the `(tenant_id, …)` indexes and reads
 * `(tenant_id, id)` already in `ORDER BY id` order. An array (`= ANY`) or an OR of the two forms
 * gives neither, and a 20-row page walks the primary key across every tenant's rows.
 */
const SCOPE_TENANT = `(SELECT v.tenant_id FROM public.stratum_scope_current v WHERE v.mode <> 'a')`;
/** Prefix of the per-table descendants view (see `tenantTableSql`). */
export const SUBTREE_VIEW_PREFIX = "stratum_d_";
/** True only inside stratum's own service calls. */
const SCOPE_IS_ADMIN = `(SELECT EXISTS (SELECT 1 FROM public.stratum_scope_current v WHERE v.mode = 'a'))`;

/**
 * The scope functions: the token machinery, and the descendants lookup only the `d` mode calls.
 * `withTree` is false inside a tenant's own database (DATABASE strategy), which holds no tenant
 * tree: there the descendants mode sees the tenant alone.
 */
export function scopeFunctionsSql(withTree: boolean): string {
  const descendants = withTree
    ? `SELECT coalesce(array_agg(t.id), ARRAY[tid]) INTO result
       FROM public.stratum_tenants t
      WHERE t.path OPERATOR(public.<@) (SELECT p.path FROM public.stratum_tenants p WHERE p.id = tid)
        AND t.status <> 'archived';
    RETURN result;`
    : `RETURN ARRAY[tid];`;
  const covers = withTree
    ? ` OR (v.mode = 'd' AND EXISTS (SELECT 1 FROM public.stratum_tenants r, public.stratum_tenants h
        WHERE r.id = v.tenant_id AND h.id = tid AND h.status <> 'archived' AND h.path OPERATOR(public.<@) r.path))`
    : "";
  return `
DROP FUNCTION IF EXISTS public.stratum_verified_scope();
${scopeTokenSql()}
-- Tenant ids the current scope may see: itself, or itself and its live descendants.
CREATE OR REPLACE FUNCTION public.stratum_scope_tenants() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  tid uuid;
  scope_mode text;
  result uuid[];
BEGIN
  SELECT v.tenant_id, v.mode INTO tid, scope_mode FROM public.stratum_scope_current v;
  IF tid IS NULL OR scope_mode = 'a' THEN
    RETURN '{}'::uuid[];
  END IF;
  IF scope_mode IN ('s', 'm') THEN
    RETURN ARRAY[tid];
  END IF;
  ${descendants}
END $fn$;

-- True when the scope may read tenant tid through a subtree view: tid itself, or (d mode) a live
-- descendant of the scope's tenant. The per-home form of stratum_scope_tenants(). PL/pgSQL, not
-- SQL: a SECURITY DEFINER SQL function cannot be inlined and is planned again at every call site,
-- twice per home in a descendants statement; PL/pgSQL keeps the plan for the session (a 50-home
-- statement measured 59 ms → 7 ms).
CREATE OR REPLACE FUNCTION public.stratum_scope_covers(tid uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RETURN EXISTS (SELECT 1 FROM public.stratum_scope_current v WHERE v.mode <> 'a' AND (v.tenant_id = tid${covers}));
END $fn$;
GRANT EXECUTE ON FUNCTION public.stratum_scope_covers(uuid) TO PUBLIC;

CREATE OR REPLACE FUNCTION public.stratum_scope_is_admin() RETURNS boolean
LANGUAGE sql STABLE AS $fn$ SELECT ${SCOPE_IS_ADMIN} $fn$;

${withTree ? SHARED_HOME_FUNCTION : ""}
${withTree ? SUBTREE_IDS_FUNCTION : ""}
GRANT EXECUTE ON FUNCTION public.stratum_scope_tenants() TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.stratum_scope_is_admin() TO PUBLIC;
-- Sign whatever this database already knows (a key installed before this migration, tenants
-- created before the token table existed); a no-op while no key is installed.
UPDATE public.${SCOPE_KEY_TABLE} SET key = key;
`;
}

/**
 * A subtree's ids for stratum's own services (src/core/subtree.ts), read as the table's owner:
 * stratum_tenants has row security, and PostgreSQL uses an index on such a table only for a
 * leakproof operator, which ltree's <@ is not — as the app role, every subtree read scanned the
 * whole table. The owner is not subject to the table's row security, so here <@ walks the path
 * index. Only the admin scope gets an answer; any other caller gets NULL, and the services' SQL
 * then reads the subtree itself (src/core/subtree.ts): as the owner (tooling on a plain pool) that
 * is the same index, as anyone else the table's row security decides.
 */
const SUBTREE_IDS_FUNCTION = `
CREATE OR REPLACE FUNCTION public.stratum_subtree_ids(root uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT ${SCOPE_IS_ADMIN} THEN
    RETURN NULL;
  END IF;
  RETURN ARRAY(SELECT t.id FROM public.stratum_tenants t
                WHERE t.path OPERATOR(public.<@) (SELECT p.path FROM public.stratum_tenants p WHERE p.id = root));
END $fn$;
REVOKE ALL ON FUNCTION public.stratum_subtree_ids(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.stratum_subtree_ids(uuid) TO PUBLIC;
`;

/**
 * True when the scope's tenant lives in the shared tables right now. A writer whose route went
 * stale while its tenant moved away (another process, between its lookup and its statement)
 * fails on this check instead of leaving rows where the tenant no longer reads.
 */
const SHARED_HOME_FUNCTION = `
CREATE OR REPLACE FUNCTION public.stratum_scope_in_shared_home() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  tid uuid;
  scope_mode text;
BEGIN
  SELECT v.tenant_id, v.mode INTO tid, scope_mode FROM public.stratum_scope_current v;
  IF tid IS NULL THEN
    RETURN false;
  END IF;
  -- A move ('m') writes into the shared tables before the route flips to them.
  IF scope_mode = 'm' THEN
    RETURN true;
  END IF;
  RETURN coalesce((SELECT t.isolation_strategy = 'SHARED_RLS' FROM public.stratum_tenants t WHERE t.id = tid), false);
END $fn$;
GRANT EXECUTE ON FUNCTION public.stratum_scope_in_shared_home() TO PUBLIC;

-- Tokens follow the tenants: signed on creation, gone on deletion.
CREATE OR REPLACE FUNCTION public.stratum_tenant_tokens() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- stratum_scope_register's body, inlined: a SECURITY DEFINER SQL function is planned again on
    -- every call, while this INSERT keeps its plan for the session (about 0.1 ms off each create).
    INSERT INTO public.${SCOPE_TOKEN_TABLE} (token, tenant_id, mode, key_id)
    SELECT public.stratum_scope_sign(k.key, NEW.id, m.mode), NEW.id, m.mode, k.id
      FROM public.${SCOPE_KEY_TABLE} k CROSS JOIN ${TENANT_MODES_SQL} AS m(mode)
    ON CONFLICT (token) DO NOTHING;
  ELSE
    DELETE FROM public.${SCOPE_TOKEN_TABLE} WHERE tenant_id = OLD.id;
  END IF;
  RETURN NULL;
END $fn$;
REVOKE ALL ON FUNCTION public.stratum_tenant_tokens() FROM PUBLIC;
DROP TRIGGER IF EXISTS stratum_tenant_tokens ON public.stratum_tenants;
CREATE TRIGGER stratum_tenant_tokens AFTER INSERT OR DELETE ON public.stratum_tenants
  FOR EACH ROW EXECUTE FUNCTION public.stratum_tenant_tokens();
`;

/** Path maintenance and the tree's invariants on stratum_tenants. */
export function tenantTreeSql(): string {
  return `
CREATE EXTENSION IF NOT EXISTS ltree;

-- Fill path and depth on insert, so Prisma's create needs no ltree value. Moves rewrite paths
-- for a whole subtree in one UPDATE issued by the tenants service.
CREATE OR REPLACE FUNCTION public.stratum_tenant_path() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
  parent_path public.ltree;
BEGIN
  IF NEW.parent_id IS NULL THEN
    NEW.path := public.text2ltree(replace(NEW.id::text, '-', '_'));
  ELSE
    SELECT p.path INTO parent_path FROM public.stratum_tenants p WHERE p.id = NEW.parent_id;
    IF parent_path IS NULL THEN
      RAISE EXCEPTION 'stratum: parent tenant % does not exist', NEW.parent_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.path := parent_path OPERATOR(public.||) public.text2ltree(replace(NEW.id::text, '-', '_'));
  END IF;
  NEW.depth := public.nlevel(NEW.path) - 1;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS stratum_tenant_path ON public.stratum_tenants;
CREATE TRIGGER stratum_tenant_path BEFORE INSERT ON public.stratum_tenants
  FOR EACH ROW EXECUTE FUNCTION public.stratum_tenant_path();

ALTER TABLE public.stratum_tenants DROP CONSTRAINT IF EXISTS stratum_tenants_slug_check;
ALTER TABLE public.stratum_tenants ADD CONSTRAINT stratum_tenants_slug_check
  CHECK (slug ~ '^[a-z][a-z0-9_]{0,62}$' AND slug NOT IN ('public', 'information_schema') AND slug !~ '^(pg_|stratum)');
ALTER TABLE public.stratum_tenants DROP CONSTRAINT IF EXISTS stratum_tenants_depth_check;
ALTER TABLE public.stratum_tenants ADD CONSTRAINT stratum_tenants_depth_check CHECK (depth BETWEEN 0 AND 19);
ALTER TABLE public.stratum_tenants DROP CONSTRAINT IF EXISTS stratum_tenants_status_check;
ALTER TABLE public.stratum_tenants ADD CONSTRAINT stratum_tenants_status_check
  CHECK (status IN ('active', 'suspended', 'archived'));
ALTER TABLE public.stratum_tenants DROP CONSTRAINT IF EXISTS stratum_tenants_isolation_check;
ALTER TABLE public.stratum_tenants ADD CONSTRAINT stratum_tenants_isolation_check
  CHECK (isolation_strategy IN ('SHARED_RLS', 'SCHEMA', 'DATABASE'));
`;
}

/**
 * The descendants mode (`d`) without widening the tables' own policy. Every statement sees the
 * scope's tenant alone (one scalar, see SCOPE_TENANT); the subtree is readable only through
 * `stratum_d_<table>`, a security_barrier view that this SQL's runner (the owner) owns. Views
 * read their tables as their owner, so the second policy, `TO CURRENT_USER`, admits the subtree
 * there and nowhere else, and the view's own filter admits exactly the subtree again (an owner
 * that bypasses RLS still gets no more). The app role may read the view: it answers only for a
 * `d` token the caller holds, as the tables did before. Dropped and created again on every run so
 * columns added since are in it.
 */
function subtreeSql(t: string, schema: string, table: string, col: string, role: string, homeTenant?: string): string {
  const view = `${ident(schema)}.${ident(subtreeViewName(table))}`;
  // A home of one tenant (SCHEMA, DATABASE): the view asks once whether the scope covers that
  // tenant (two key lookups, where the subtree's array, SCOPE_TENANTS, aggregates every
  // descendant — and a read over 50 homes evaluates it in every one of them). The owner's policy
  // admits the home's rows, which are that tenant's alone (the home's CHECK), and leaves the scope
  // to the view: asking stratum_scope_covers a second time in every arm of a descendants read cost
  // ≈ 20 µs a home (a 1,000-home count ≈ 20 ms). The app role never reaches this policy (it
  // applies to the owner); any other view the owner makes over a home table is named by doctor.
  const homeRows = `${col} = '${homeTenant}'::uuid`;
  const coveredHome = `${homeRows} AND (SELECT public.stratum_scope_covers('${homeTenant}'::uuid))`;
  // The shared tables: the view's filter is the subtree's array, which the planner uses as the
  // index condition on (tenant_id, …). The policy admits the same set, as a hashed subplan (one
  // hash probe a row): as a second `= ANY(array)` the planner put both arrays in one index
  // condition of a BitmapOr arm, and PostgreSQL 15 walks every pair of their elements (1,001 ×
  // 1,001 for a 1,000-client MSP: 88 ms of a 95 ms page at 1,000,000 rows, 4.4 ms after).
  const viewFilter = homeTenant ? coveredHome : `${col} = ANY (${SCOPE_TENANTS}::uuid[])`;
  const policyFilter = homeTenant ? homeRows : `${col} IN (SELECT pg_catalog.unnest(${SCOPE_TENANTS}::uuid[]))`;
  return `DROP POLICY IF EXISTS stratum_subtree ON ${t};
CREATE POLICY stratum_subtree ON ${t} AS PERMISSIVE FOR SELECT TO CURRENT_USER
  USING (${policyFilter});
DROP VIEW IF EXISTS ${view};
CREATE VIEW ${view} WITH (security_barrier) AS
  SELECT * FROM ${t} WHERE ${viewFilter};
REVOKE ALL ON ${view} FROM PUBLIC;
GRANT SELECT ON ${view} TO ${role};
`;
}

/** `stratum_d_<table>`; a long table name keeps a prefix and a hash, within 63 bytes. */
export function subtreeViewName(table: string): string {
  const name = `${SUBTREE_VIEW_PREFIX}${table}`;
  if (name.length <= 63) return name;
  let h = 0;
  for (const ch of table) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `${name.slice(0, 54)}_${h.toString(16).padStart(8, "0")}`;
}

/**
 * RLS and grants for one tenant-scoped table. `sharedHome` marks the main database's shared
 * tables, whose writes must also come from a tenant that still lives there.
 */
export function tenantTableSql(table: string, tenantColumn: string, appRole: string, schema = "public", sharedHome = false, homeTenant?: string): string {
  if (homeTenant !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(homeTenant)) {
    throw new Error(`stratum: ${JSON.stringify(homeTenant)} is not a lowercase tenant id`);
  }
  const t = `${ident(schema)}.${ident(table)}`;
  const col = ident(tenantColumn);
  const role = ident(appRole);
  return `
ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS stratum_tenant_isolation ON ${t};
CREATE POLICY stratum_tenant_isolation ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC
  USING (${col} = ${SCOPE_TENANT})
  WITH CHECK (${col} = ${SCOPE_TENANT});
${subtreeSql(t, schema, table, col, role, homeTenant)}DROP POLICY IF EXISTS stratum_shared_home ON ${t};
${
  sharedHome
    ? `CREATE POLICY stratum_shared_home ON ${t} AS RESTRICTIVE FOR INSERT TO PUBLIC
  WITH CHECK ((SELECT public.stratum_scope_in_shared_home()));
`
    : ""
}REVOKE ALL ON ${t} FROM ${role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${role};
`;
}

/**
 * Opt-in audit of a tenant model's writes (`/// @stratum.audit`): a row trigger writes the audit
 * entry in the same transaction as the change, with the actor the scope's prelude set
 * (`stratum.actor`). The function is SECURITY DEFINER (the app role cannot write stratum_audit
 * outside stratum's services) with a pinned search_path.
 */
const MODEL_AUDIT_FUNCTION = `
CREATE OR REPLACE FUNCTION public.stratum_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  tenant_column text := TG_ARGV[0];
  id_column text := TG_ARGV[1];
  row_data jsonb := to_jsonb(coalesce(NEW, OLD));
BEGIN
  INSERT INTO public.stratum_audit (tenant_id, actor, action, target_type, target_id, before, after, request_id, created_at)
  VALUES ((row_data ->> tenant_column)::uuid,
          coalesce(nullif(current_setting('stratum.actor', true), ''), 'system:system'),
          'model.' || TG_TABLE_NAME || '.' || lower(TG_OP),
          TG_TABLE_NAME,
          row_data ->> id_column,
          CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
          CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END,
          nullif(current_setting('stratum.request_id', true), ''),
          clock_timestamp());
  RETURN NULL;
END $fn$;
REVOKE ALL ON FUNCTION public.stratum_audit_row() FROM PUBLIC;
`;

export function modelAuditSql(table: string, tenantColumn: string, idColumn: string, schema = "public"): string {
  const t = `${ident(schema)}.${ident(table)}`;
  const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return `DROP TRIGGER IF EXISTS stratum_audit ON ${t};
CREATE TRIGGER stratum_audit AFTER INSERT OR UPDATE OR DELETE ON ${t}
  FOR EACH ROW EXECUTE FUNCTION public.stratum_audit_row(${literal(tenantColumn)}, ${literal(idColumn)});
`;
}

/** Stratum's global tables: readable and writable only inside stratum's own service calls. */
function globalTableSql(table: string, appRole: string, appendOnly: boolean): string {
  const t = `public.${ident(table)}`;
  const role = ident(appRole);
  const privileges = appendOnly ? "SELECT, INSERT" : "SELECT, INSERT, UPDATE, DELETE";
  return `
ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS stratum_admin_only ON ${t};
CREATE POLICY stratum_admin_only ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC
  USING (${SCOPE_IS_ADMIN})
  WITH CHECK (${SCOPE_IS_ADMIN});
REVOKE ALL ON ${t} FROM ${role};
GRANT ${privileges} ON ${t} TO ${role};
`;
}

/** The app role: created NOLOGIN if missing (the deployer gives it a login), never privileged. */
function appRoleSql(appRole: string): string {
  const literal = appRole.replace(/'/g, "''");
  return `
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${literal}') THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS', '${literal}');
  END IF;
END $do$;
GRANT USAGE ON SCHEMA public TO ${ident(appRole)};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${ident(appRole)};
`;
}

/**
 * The app role reads and writes rows, nothing more. PostgreSQL grants TEMPORARY on every database
 * to PUBLIC, which lets any role create temporary tables, views and functions that shadow real
 * ones on its session; CREATE on a schema lets it define tables, triggers and functions. Both are
 * revoked here (from PUBLIC and from the app role) for the database the statement runs in, so it
 * is applied to the main database and to every tenant database. USAGE on plpgsql (what DO blocks
 * need) can only be revoked by the language's owner, a superuser: stratum's doctor reports it and
 * docs/security.md shows the REVOKE; nothing depends on it, since every raw statement's session is
 * reset after it.
 */
export function sessionPrivilegesSql(appRole: string): string {
  const literal = appRole.replace(/'/g, "''");
  return `
DO $do$
BEGIN
  EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
  EXECUTE pg_catalog.format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM %I', pg_catalog.current_database(), '${literal}');
END $do$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM ${ident(appRole)};
`;
}

/** The whole security migration for the main database. */
export function securitySql(options: SecuritySqlOptions): string {
  const parts = [
    "-- Generated by stratum-prisma. Idempotent: safe to apply again.",
    appRoleSql(options.appRole),
    sessionPrivilegesSql(options.appRole),
    tenantTreeSql(),
    scopeFunctionsSql(true),
    ...[SCOPE_KEY_TABLE, SCOPE_TOKEN_TABLE].map((t) => `REVOKE ALL ON public.${t} FROM PUBLIC;\nREVOKE ALL ON public.${t} FROM ${ident(options.appRole)};`),
  ];
  const appendOnly = new Set(options.appendOnlyTables ?? []);
  for (const table of options.globalTables) {
    if (table === SCOPE_KEY_TABLE || table === SCOPE_TOKEN_TABLE) continue;
    parts.push(globalTableSql(table, options.appRole, appendOnly.has(table)));
  }
  for (const table of options.userGlobalTables ?? []) {
    parts.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.${ident(table)} TO ${ident(options.appRole)};`);
  }
  parts.push(MODEL_AUDIT_FUNCTION);
  for (const { table, tenantColumn, audited, idColumn } of options.tenantTables) {
    parts.push(tenantTableSql(table, tenantColumn, options.appRole, "public", true));
    parts.push(audited ? modelAuditSql(table, tenantColumn, idColumn ?? "id") : `DROP TRIGGER IF EXISTS stratum_audit ON public.${ident(table)};\n`);
  }
  return parts.join("\n").trim() + "\n";
}
