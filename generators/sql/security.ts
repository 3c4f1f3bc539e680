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
 * isolation move (the tenant's rows, in a home the route does not point at yet).
 */

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

export const SCOPE_SETTING = "stratum.tenant_id";
const SCOPE_KEY_TABLE = "stratum_scope_keys";

export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name)) {
    throw new Error(`refusing to quote unsafe SQL identifier ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/**
 * The verification every policy runs once per statement (an InitPlan), inlined in each function
 * because it is the hot path: no regex (PostgreSQL recompiles it per call), no nested SECURITY
 * DEFINER calls. Sets `scope` to '<uuid>.<mode>' when the setting carries a valid signature;
 * otherwise runs `onInvalid`. The format is fixed-length: 36 + 1 + 1 + 1 + 64 characters, and only
 * stratum, holding the key, can produce a signature, so a verified value is a well-formed uuid.
 */
function verifiedScope(onInvalid: string): string {
  return `raw := current_setting('${SCOPE_SETTING}', true);
  IF raw IS NULL OR length(raw) <> 103 OR substr(raw, 37, 1) <> '.' OR substr(raw, 38, 1) NOT IN ('s', 'd', 'a', 'm') THEN
    ${onInvalid}
  END IF;
  SELECT s.key INTO k FROM public.${SCOPE_KEY_TABLE} s WHERE s.id = 1;
  IF k IS NULL OR encode(sha256(convert_to(k || encode(sha256(convert_to(k || left(raw, 38), 'UTF8')), 'hex'), 'UTF8')), 'hex') <> right(raw, 64) THEN
    ${onInvalid}
  END IF;
  scope := left(raw, 38);`;
}

const DECLARE_SCOPE = `raw text;
  k text;
  scope text;`;

/**
 * The scope functions. `withTree` is false inside a tenant's own database (DATABASE strategy),
 * which holds no tenant tree: there the descendants mode sees the tenant alone.
 */
export function scopeFunctionsSql(withTree: boolean): string {
  const descendants = withTree
    ? `SELECT coalesce(array_agg(t.id), ARRAY[tid]) INTO result
       FROM public.stratum_tenants t
      WHERE t.path OPERATOR(public.<@) (SELECT p.path FROM public.stratum_tenants p WHERE p.id = tid)
        AND t.status <> 'archived';
    RETURN result;`
    : `RETURN ARRAY[tid];`;
  return `
DROP FUNCTION IF EXISTS public.stratum_verified_scope();

-- Tenant ids the current scope may see: itself, or itself and its live descendants.
CREATE OR REPLACE FUNCTION public.stratum_scope_tenants() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  ${DECLARE_SCOPE}
  tid uuid;
  result uuid[];
BEGIN
  ${verifiedScope("RETURN '{}'::uuid[];")}
  IF right(scope, 1) = 'a' THEN
    RETURN '{}'::uuid[];
  END IF;
  tid := left(scope, 36)::uuid;
  IF right(scope, 1) IN ('s', 'm') THEN
    RETURN ARRAY[tid];
  END IF;
  ${descendants}
END $fn$;

-- True only inside stratum's own service calls.
CREATE OR REPLACE FUNCTION public.stratum_scope_is_admin() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  ${DECLARE_SCOPE}
BEGIN
  ${verifiedScope("RETURN false;")}
  RETURN right(scope, 1) = 'a';
END $fn$;

${withTree ? SHARED_HOME_FUNCTION : ""}
GRANT EXECUTE ON FUNCTION public.stratum_scope_tenants() TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.stratum_scope_is_admin() TO PUBLIC;
`;
}

/**
 * True when the scope's tenant lives in the shared tables right now. A writer whose route went
 * stale while its tenant moved away (another process, between its lookup and its statement)
 * fails on this check instead of leaving rows where the tenant no longer reads.
 */
const SHARED_HOME_FUNCTION = `
CREATE OR REPLACE FUNCTION public.stratum_scope_in_shared_home() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  ${DECLARE_SCOPE}
BEGIN
  ${verifiedScope("RETURN false;")}
  -- A move ('m') writes into the shared tables before the route flips to them.
  IF right(scope, 1) = 'm' THEN
    RETURN true;
  END IF;
  RETURN coalesce((SELECT t.isolation_strategy = 'SHARED_RLS' FROM public.stratum_tenants t WHERE t.id = left(scope, 36)::uuid), false);
END $fn$;
GRANT EXECUTE ON FUNCTION public.stratum_scope_in_shared_home() TO PUBLIC;
`;

/** Path maintenance and the tree's invariants on stratum_tenants. */
export function tenantTreeSql(): string {
  return `
CREATE EXTENSION IF NOT EXISTS ltree;

-- Fill path and depth on insert, so Prisma's create needs no ltree value. Moves rewrite paths
-- for a whole subtree in one UPDATE issued by the tenants service.
CREATE OR REPLACE FUNCTION public.stratum_tenant_path() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
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
 * RLS and grants for one tenant-scoped table. `sharedHome` marks the main database's shared
 * tables, whose writes must also come from a tenant that still lives there.
 */
export function tenantTableSql(table: string, tenantColumn: string, appRole: string, schema = "public", sharedHome = false): string {
  const t = `${ident(schema)}.${ident(table)}`;
  const col = ident(tenantColumn);
  const role = ident(appRole);
  return `
ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS stratum_tenant_isolation ON ${t};
CREATE POLICY stratum_tenant_isolation ON ${t} AS PERMISSIVE FOR ALL TO PUBLIC
  USING (${col} = ANY ((SELECT public.stratum_scope_tenants())::uuid[]))
  WITH CHECK (${col} = ANY ((SELECT public.stratum_scope_tenants())::uuid[]));
DROP POLICY IF EXISTS stratum_shared_home ON ${t};
${sharedHome ? `CREATE POLICY stratum_shared_home ON ${t} AS RESTRICTIVE FOR INSERT TO PUBLIC
  WITH CHECK ((SELECT public.stratum_scope_in_shared_home()));
` : ""}REVOKE ALL ON ${t} FROM ${role};
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
  USING ((SELECT public.stratum_scope_is_admin()))
  WITH CHECK ((SELECT public.stratum_scope_is_admin()));
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

/** The whole security migration for the main database. */
export function securitySql(options: SecuritySqlOptions): string {
  const parts = [
    "-- Generated by stratum-prisma. Idempotent: safe to apply again.",
    appRoleSql(options.appRole),
    tenantTreeSql(),
    scopeFunctionsSql(true),
    `REVOKE ALL ON public.${SCOPE_KEY_TABLE} FROM PUBLIC;\nREVOKE ALL ON public.${SCOPE_KEY_TABLE} FROM ${ident(options.appRole)};`,
  ];
  const appendOnly = new Set(options.appendOnlyTables ?? []);
  for (const table of options.globalTables) {
    if (table === SCOPE_KEY_TABLE) continue;
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
