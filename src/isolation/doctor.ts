/**
 * The connection check behind ARCHITECTURE §4 rule 3: an app connection that is superuser,
 * BYPASSRLS, owner of a tenant table, or holds TRUNCATE / REFERENCES / TRIGGER on one would let
 * queries past the policies. Stratum refuses to scope anything on such a connection.
 */
import { StratumError } from "../core/errors.js";

export interface ConnectionFacts {
  role: string;
  superuser: boolean;
  bypassrls: boolean;
  owned: string[];
  dangerous: string[];
  unprotected: string[];
}

/** One statement: the current role's attributes and its standing on every tenant table. */
export const CONNECTION_FACTS_SQL = `
SELECT current_user::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
       coalesce(array_agg(c.relname::text) FILTER (WHERE pg_has_role(current_user, c.relowner, 'USAGE')), '{}') AS owned,
       coalesce(array_agg(c.relname::text || ':' || p.priv) FILTER (WHERE p.priv IS NOT NULL), '{}') AS dangerous,
       coalesce(array_agg(c.relname::text) FILTER (WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)), '{}') AS unprotected
  FROM pg_roles r
  LEFT JOIN pg_class c ON c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  LEFT JOIN LATERAL (SELECT unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv) p
         ON has_table_privilege(current_user, c.oid, p.priv)
 WHERE r.rolname = current_user
 GROUP BY r.rolname, r.rolsuper, r.rolbypassrls`;

export function connectionProblems(facts: ConnectionFacts): string[] {
  const problems: string[] = [];
  if (facts.superuser) problems.push(`role ${facts.role} is a superuser (superusers bypass row-level security)`);
  if (facts.bypassrls) problems.push(`role ${facts.role} has BYPASSRLS`);
  if (facts.owned.length) problems.push(`role ${facts.role} owns tenant tables (${facts.owned.join(", ")})`);
  if (facts.dangerous.length) problems.push(`role ${facts.role} holds ${facts.dangerous.join(", ")}`);
  if (facts.unprotected.length) problems.push(`tenant tables without ENABLE + FORCE ROW LEVEL SECURITY: ${facts.unprotected.join(", ")} (apply the migrations)`);
  return problems;
}

export function unsafeConnection(problems: string[]): StratumError {
  return new StratumError(
    "UNSAFE_CONNECTION",
    `Refusing to run tenant-scoped queries: ${problems.join("; ")}. Connect the app as a role that is not superuser, has NOBYPASSRLS, owns no table and holds only SELECT, INSERT, UPDATE, DELETE on tenant tables (run \`stratum doctor\`).`,
    { problems },
  );
}
