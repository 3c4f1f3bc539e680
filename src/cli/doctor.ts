/** `stratum doctor`: checks the app connection against the isolation rules, without Prisma. */
import type { Command } from "commander";
import pg from "pg";
import { StratumError } from "../core/errors.js";
import type { StratumModels } from "../core/models.js";
import { CONNECTION_FACTS_SQL, DEFINER_FACTS_SQL, SESSION_FACTS_SQL, connectionProblems, type ConnectionFacts } from "../isolation/doctor.js";

import { inventory } from "./doctor-inventory.js";
import { DEFAULT_MODELS, loadProjectExport, pickModule } from "./project-module.js";

/** The tenant tables named by the project's generated `stratumModels` (a .ts module loads through tsx). */
export async function tenantTablesOf(modelsModule: string): Promise<string[]> {
  return Object.keys(await tenantColumnsOfModule(modelsModule));
}

/** Table → tenant column, from the project's `stratumModels`. */
async function tenantColumnsOfModule(modelsModule: string): Promise<Record<string, string>> {
  const models = (await loadProjectExport(modelsModule, "stratumModels")) as StratumModels;
  return Object.fromEntries(
    Object.values(models.models)
      .filter((m) => m.scope === "tenant")
      .map((m) => [m.table, m.tenantColumn ?? "tenant_id"]),
  );
}

export interface DoctorOptions {
  /** Table → tenant column; default `tenant_id`. */
  tenantColumns?: Readonly<Record<string, string>>;
  /** Lets doctor read stratum's own tables (orphans, depth, keys, sealed values). */
  scopeKey?: string;
  encryptionKey?: string;
}

export interface DoctorReport {
  ok: boolean;
  role: string;
  problems: string[];
  warnings: string[];
  /** Checks not run, with what they need. */
  skipped: string[];
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

export async function doctor(url: string, tables: readonly string[], options: DoctorOptions = {}): Promise<DoctorReport> {
  const tenantTables = [...new Set(tables)];
  const client = await connect(url);
  try {
    const unknown = await unknownTables(client, tenantTables);
    if (unknown.length) {
      throw new StratumError(
        "VALIDATION_FAILED",
        `No such table: ${unknown.join(", ")}. Pass the tenant tables of your generated stratumModels (--tables users,tickets).`,
        { tables: unknown },
      );
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
    const found = await inventory(client, {
      tables: tenantTables.map((table) => ({ table, tenantColumn: options.tenantColumns?.[table] ?? "tenant_id" })),
      ...(options.scopeKey ? { scopeKey: options.scopeKey } : {}),
      ...(options.encryptionKey ? { encryptionKey: options.encryptionKey } : {}),
    });
    problems.push(...found.problems);
    return { ok: problems.length === 0, role: facts.role, problems, warnings: found.warnings, skipped: found.skipped };
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
  $ STRATUM_SCOPE_KEY=… STRATUM_ENCRYPTION_KEY=… npx stratum-prisma doctor   (also orphans, depth, keys, sealed values)
`,
    )
    .option("--json", "print the report as JSON")
    .option("--url <url>", "the app role's connection URL (default: DATABASE_URL)")
    .option("--tables <names>", "comma-separated tenant tables (default: the tenant models of --models)")
    .option("--models <module>", "module exporting stratumModels (default: generated/stratum/index.{js,ts})")
    .option("--scope-key <key>", "also check stratum's tables: orphans, depth, keys, sealed values (default: STRATUM_SCOPE_KEY)")
    .option("--encryption-key <base64>", "the encryption key to check (default: STRATUM_ENCRYPTION_KEY)")
    .action(async (opts: { url?: string; tables?: string; models?: string; json?: boolean; scopeKey?: string; encryptionKey?: string }) => {
      const url = opts.url ?? process.env.DATABASE_URL;
      if (!url) throw new StratumError("VALIDATION_FAILED", "No database: pass --url or set DATABASE_URL to the app role's URL.");
      const columns = opts.tables !== undefined ? null : await tenantColumnsOfModule(pickModule(opts.models, DEFAULT_MODELS));
      const tables = columns
        ? Object.keys(columns)
        : (opts.tables ?? "")
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean);
      const scopeKey = opts.scopeKey ?? (process.env.STRATUM_SCOPE_KEY || undefined);
      const encryptionKey = opts.encryptionKey ?? (process.env.STRATUM_ENCRYPTION_KEY || undefined);
      const report = await doctor(url, tables, {
        ...(columns ? { tenantColumns: columns } : {}),
        ...(scopeKey ? { scopeKey } : {}),
        ...(encryptionKey ? { encryptionKey } : {}),
      });
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      if (!opts.json) for (const w of report.warnings) console.error(`warning: ${w}`);
      if (!opts.json) for (const s of report.skipped) console.error(`skipped: ${s}`);
      if (report.ok) {
        if (!opts.json) console.log(`ok: ${report.role} cannot bypass tenant isolation`);
        return;
      }
      if (!opts.json) for (const p of report.problems) console.error(`problem: ${p}`);
      throw new StratumError("UNSAFE_CONNECTION", `${report.problems.length} problem(s) with role ${report.role}.`);
    });
}
