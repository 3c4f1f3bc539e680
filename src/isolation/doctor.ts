/**
 * The connection check behind docs/architecture.md §4 rule 3: an app connection that is superuser,
 * BYPASSRLS, owner of a tenant table, or holds TRUNCATE / REFERENCES / TRIGGER on one would let
 * queries past the policies. Stratum refuses to scope anything on such a connection.
 */
import { StratumError } from "../core/errors.js";
import { HOME_CHECK } from "./ddl.js";

export interface ConnectionFacts {
  role: string;
  superuser: boolean;
  bypassrls: boolean;
  owned: string[];
  dangerous: string[];
  unprotected: string[];
  /** Views the role can read that run as a privileged owner (they would read past RLS). */
  leaky_views: string[];
  /** SECURITY DEFINER functions the role can call that do not pin their search_path. */
  unpinned_definers: string[];
  /** `<privilege>|<fix>` for each way the role could create objects (SESSION_FACTS_SQL). */
  session_privileges?: string[];
}

/** One statement: the current role's attributes and its standing on every tenant table. */
export const CONNECTION_FACTS_SQL = `
SELECT current_user::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
       -- DISTINCT: each table joins one row per privilege below, and must be named once.
       coalesce(array_agg(DISTINCT c.relname::text) FILTER (WHERE pg_has_role(current_user, c.relowner, 'USAGE')), '{}') AS owned,
       coalesce(array_agg(DISTINCT c.relname::text || ':' || p.priv) FILTER (WHERE p.priv IS NOT NULL), '{}') AS dangerous,
       coalesce(array_agg(DISTINCT c.relname::text) FILTER (WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)), '{}') AS unprotected
  FROM pg_roles r
  LEFT JOIN pg_class c ON c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  LEFT JOIN LATERAL (SELECT unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv) p
         ON has_table_privilege(current_user, c.oid, p.priv)
 WHERE r.rolname = current_user
 GROUP BY r.rolname, r.rolsuper, r.rolbypassrls`;

/** Rule 6: views are security_invoker, SECURITY DEFINER functions pin search_path. */
export const DEFINER_FACTS_SQL = `
SELECT
  coalesce((SELECT array_agg(n.nspname || '.' || v.relname ORDER BY 1)
              FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace JOIN pg_roles o ON o.oid = v.relowner
             WHERE v.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               -- stratum's scope view answers only for the token the caller already holds, and its
               -- subtree views (stratum_d_<table>) filter by the caller's descendants token themselves.
               AND (n.nspname, v.relname) <> ('public', 'stratum_scope_current')
               AND v.relname !~ '^stratum_d_'
               AND (o.rolsuper OR o.rolbypassrls
                    -- A tenant home's tables (they carry the home's CHECK) admit all of the home's
                    -- rows to their owner (the subtree view filters by scope itself), so an
                    -- owner's view over one does not. A scalar subquery, not EXISTS: PostgreSQL
                    -- would hash an EXISTS over every view's dependencies (10,000 rows at 1,000 homes).
                    OR (SELECT true FROM pg_rewrite rw
                          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
                          JOIN pg_constraint k ON k.conrelid = d.refobjid AND k.conname = '${HOME_CHECK}'
                         WHERE rw.ev_class = v.oid LIMIT 1) IS NOT NULL)
               AND NOT coalesce('security_invoker=true' = ANY (v.reloptions) OR 'security_invoker=on' = ANY (v.reloptions), false)
               AND has_table_privilege(current_user, v.oid, 'SELECT')), '{}') AS leaky_views,
  coalesce((SELECT array_agg(n.nspname || '.' || p.proname ORDER BY 1)
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%')
               AND has_function_privilege(current_user, p.oid, 'EXECUTE')), '{}') AS unpinned_definers`;

/**
 * Privileges that would let the app role leave objects on its session or define its own: temporary
 * objects shadow real ones for the next borrower of a pooled connection, and a table, trigger or
 * function of its own runs code under other scopes. Each entry is `<privilege>|<REVOKE that fixes it>`.
 */
export const SESSION_FACTS_SQL = `
SELECT coalesce(pg_catalog.array_agg(p.entry ORDER BY p.entry), '{}') AS session_privileges FROM (
  SELECT 'TEMPORARY on database ' || pg_catalog.quote_ident(pg_catalog.current_database()) || '|REVOKE TEMPORARY ON DATABASE ' ||
         pg_catalog.quote_ident(pg_catalog.current_database()) || ' FROM PUBLIC, ' || pg_catalog.quote_ident(current_user::text) AS entry
   WHERE pg_catalog.has_database_privilege(current_user, pg_catalog.current_database(), 'TEMPORARY')
  UNION ALL
  SELECT 'CREATE on database ' || pg_catalog.quote_ident(pg_catalog.current_database()) || '|REVOKE CREATE ON DATABASE ' ||
         pg_catalog.quote_ident(pg_catalog.current_database()) || ' FROM PUBLIC, ' || pg_catalog.quote_ident(current_user::text)
   WHERE pg_catalog.has_database_privilege(current_user, pg_catalog.current_database(), 'CREATE')
  UNION ALL
  SELECT 'CREATE on schema ' || pg_catalog.quote_ident(n.nspname) || '|REVOKE CREATE ON SCHEMA ' || pg_catalog.quote_ident(n.nspname) ||
         ' FROM PUBLIC, ' || pg_catalog.quote_ident(current_user::text)
    FROM pg_catalog.pg_namespace n
   WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND pg_catalog.has_schema_privilege(current_user, n.oid, 'CREATE')
) p`;

export function connectionProblems(facts: ConnectionFacts): string[] {
  const problems: string[] = [];
  if (facts.superuser) problems.push(`role ${facts.role} is a superuser (superusers bypass row-level security)`);
  if (facts.bypassrls) problems.push(`role ${facts.role} has BYPASSRLS`);
  if (facts.owned.length) problems.push(`role ${facts.role} owns tenant tables (${facts.owned.join(", ")})`);
  if (facts.dangerous.length) problems.push(`role ${facts.role} holds ${facts.dangerous.join(", ")}`);
  if (facts.unprotected.length)
    problems.push(`tenant tables without ENABLE + FORCE ROW LEVEL SECURITY: ${facts.unprotected.join(", ")} (apply the migrations)`);
  if (facts.leaky_views.length) {
    problems.push(
      `views that read tenant tables with their owner's rights (owned by a superuser or BYPASSRLS role, or over a tenant home's tables) read past row-level security: ${facts.leaky_views.join(", ")} (recreate them WITH (security_invoker = true))`,
    );
  }
  const session = facts.session_privileges ?? [];
  if (session.length) {
    const [held, fixes] = [session.map((e) => e.split("|")[0]), session.map((e) => e.split("|")[1])];
    problems.push(`role ${facts.role} can create objects of its own: ${held.join(", ")} (${fixes.join("; ")})`);
  }
  if (facts.unpinned_definers.length) {
    problems.push(`SECURITY DEFINER functions without a pinned search_path: ${facts.unpinned_definers.join(", ")} (add SET search_path = pg_catalog, pg_temp)`);
  }
  return problems;
}

export function unsafeConnection(problems: string[]): StratumError {
  return new StratumError(
    "UNSAFE_CONNECTION",
    `Refusing to run tenant-scoped queries: ${problems.join("; ")}. Connect the app as a role that is not superuser, has NOBYPASSRLS, owns no table, holds only SELECT, INSERT, UPDATE, DELETE on tenant tables and cannot create objects (no TEMPORARY, no CREATE; run \`stratum-prisma doctor\`).`,
    { problems },
  );
}
