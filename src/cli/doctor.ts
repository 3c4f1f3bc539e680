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

export async function doctor(url: string, tenantTables: readonly string[]): Promise<{ ok: boolean; role: string; problems: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
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
    .option("--url <url>", "the app role's connection URL (default: DATABASE_URL)")
    .option("--tables <names>", "comma-separated tenant tables (default: the tenant models of --models)")
    .option("--models <module>", "module exporting stratumModels (default: generated/stratum/index.{js,ts})")
    .action(async (opts: { url?: string; tables?: string; models?: string }) => {
      const url = opts.url ?? process.env.DATABASE_URL;
      if (!url) throw new StratumError("VALIDATION_FAILED", "No database: pass --url or set DATABASE_URL to the app role's URL.");
      const tables = opts.tables !== undefined ? opts.tables.split(",").map((t) => t.trim()).filter(Boolean) : await tenantTablesOf(pickModule(opts.models, DEFAULT_MODELS));
      const report = await doctor(url, tables);
      if (report.ok) {
        console.log(`ok: ${report.role} cannot bypass tenant isolation`);
        return;
      }
      for (const p of report.problems) console.error(`problem: ${p}`);
      throw new StratumError("UNSAFE_CONNECTION", `${report.problems.length} problem(s) with role ${report.role}.`);
    });
}
