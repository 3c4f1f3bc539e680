/** `stratum doctor`: checks the app connection against the isolation rules, without Prisma. */
import type { Command } from "commander";
import pg from "pg";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import { CONNECTION_FACTS_SQL, DEFINER_FACTS_SQL, SESSION_FACTS_SQL, connectionProblems, type ConnectionFacts } from "../isolation/doctor.js";

import { DEFAULT_MODELS, loadProjectExport, pickModule } from "./project-module.js";

/** The tenant tables named by the project's generated `stratumModels` (a .ts module loads through tsx). */
export async function tenantTablesOf(modelsModule: string): Promise<string[]> {
  const models = (await loadProjectExport(modelsModule, "stratumModels")) as StratumModels;
  return Object.values(models.models)
    .filter((m) => m.scope === "tenant")
    .map((m) => m.table);
}

/** Connects, turning the failures an operator meets (no such database, refused, bad password) into one clear line. */
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    const code = (error as { code?: string }).code;
    const hint = code === "3D000" ? "the database does not exist: create it and run `stratum-prisma migrate`" : (error as Error).message;
    throw new StratumError("VALIDATION_FAILED", `Cannot connect with --url / DATABASE_URL: ${hint}.`, { pgCode: code }, { cause: error });
  }
}

/** Tables among `names` that do not exist in the public schema. */
async function unknownTables(client: pg.Client, names: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT t.name FROM unnest($1::text[]) AS t(name) WHERE to_regclass(format('public.%I', t.name)) IS NULL ORDER BY t.name",
    [names],
  );
  return rows.map((r) => r.name);
}

export async function doctor(url: string, tables: readonly string[]): Promise<{ ok: boolean; role: string; problems: string[] }> {
  const tenantTables = [...new Set(tables)];
  const client = await connect(url);
  try {
    const unknown = await unknownTables(client, tenantTables);
    if (unknown.length) {
      throw new StratumError("VALIDATION_FAILED", `No such table: ${unknown.join(", ")}. Pass the tenant tables of your generated stratumModels (--tables users,tickets).`, { tables: unknown });
    }
    const facts = {
      ...(await client.query(CONNECTION_FACTS_SQL, [tenantTables])).rows[0],
      ...(await client.query(DEFINER_FACTS_SQL)).rows[0],
      ...(await client.query(SESSION_FACTS_SQL)).rows[0],
    } as ConnectionFacts;
    const problems = connectionProblems(facts);
    for (const table of ["stratum_scope_keys", "stratum_scope_tokens"]) {
      const readable = await client.query("SELECT has_table_privilege($1, 'SELECT') AS readable", [table]).catch(() => null);
      if (readable?.rows[0]?.readable) problems.push(`role ${facts.role} can read ${table} (the scope key and tokens must be owner-only)`);
    }
    return { ok: problems.length === 0, role: facts.role, problems };
  } finally {
    await client.end();
  }
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check that the app connection cannot bypass tenant isolation")
    .addHelpText(
      "after",
      `
Examples:
  $ DATABASE_URL=postgresql://stratum_app:secret@localhost/app npx stratum-prisma doctor --tables users,tickets
  $ npx stratum-prisma doctor --url postgresql://stratum_app:secret@localhost/app --tables users --json
`,
    )
    .option("--json", "print the report as JSON")
    .option("--url <url>", "the app role's connection URL (default: DATABASE_URL)")
    .option("--tables <names>", "comma-separated tenant tables (default: the tenant models of --models)")
    .option("--models <module>", "module exporting stratumModels (default: generated/stratum/index.{js,ts})")
    .action(async (opts: { url?: string; tables?: string; models?: string; json?: boolean }) => {
      const url = opts.url ?? process.env.DATABASE_URL;
      if (!url) throw new StratumError("VALIDATION_FAILED", "No database: pass --url or set DATABASE_URL to the app role's URL.");
      const tables = opts.tables !== undefined ? opts.tables.split(",").map((t) => t.trim()).filter(Boolean) : await tenantTablesOf(pickModule(opts.models, DEFAULT_MODELS));
      const report = await doctor(url, tables);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      if (report.ok) {
        if (!opts.json) console.log(`ok: ${report.role} cannot bypass tenant isolation`);
        return;
      }
      if (!opts.json) for (const p of report.problems) console.error(`problem: ${p}`);
      throw new StratumError("UNSAFE_CONNECTION", `${report.problems.length} problem(s) with role ${report.role}.`);
    });
}
