/**
 * Prisma's schema engine as WebAssembly, driven through the `pg` driver adapter, so diffs and
 * drift checks run where the native schema-engine binary cannot be downloaded.
 *
 * Loading. The npm package `@prisma/schema-engine-wasm` ships wasm-bindgen glue plus a wasm
 * file and expects `--experimental-wasm-modules` on Node 20. We instead instantiate the module
 * by hand (as prisma-engines' own test executor does), which needs no flag. The `prisma` CLI
 * package bundles `build/schema_engine_bg.wasm` built from exactly our engines commit
 * (`@prisma/engines-version`); the npm package of that exact version is not published, so we
 * pair the bundled wasm with the glue of the nearest published version when their import and
 * export tables match (checked at load), and fall back to the package's own wasm otherwise.
 *
 * Adapter quirk. The schema describer reads catalog columns of PostgreSQL's internal `"char"`
 * type (OID 18, e.g. `pg_constraint.contype`); `@prisma/adapter-pg` 7.10 rejects that type
 * ("Column type 'char' could not be deserialized"), and reporting it as text makes the describer
 * panic on the first CHECK constraint ("Getting constraint_type … as char failed"; the panic
 * leaves the engine's promise pending forever, cf. prisma/orm#29635). We hand the engine
 * adapter-pg connections that report `"char"` columns as Character (see `patchCatalogTypes`).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindSqlAdapterFactory, ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, SqlResultSet } from "@prisma/driver-adapter-utils";
import { StratumError } from "../core/errors.js";
import type {
  DiagnoseMigrationHistoryOutput,
  MigrationDirectory,
  MigrationList,
  SchemaContainer,
  SchemaEngine,
} from "@prisma/schema-engine-wasm/schema_engine_bg";

type Glue = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

// The project compiles without the DOM lib, where the WebAssembly types live; this is the slice used.
interface WasmModule {
  readonly __wasmModule: unique symbol;
}
interface WasmApi {
  Module: (new (
    bytes: Uint8Array,
  ) => WasmModule) & {
    imports(module: WasmModule): Array<{ module: string; name: string; kind: string }>;
  };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface SchemaEngineInfo {
  /** Engines commit the loaded wasm was built from. */
  version: string;
  /** Path of the wasm file in use. */
  wasmPath: string;
}

let loaded: Promise<{ glue: Glue; info: SchemaEngineInfo }> | undefined;

/** Loads (once per process) the WebAssembly schema engine; tells which build is in use. */
export async function loadSchemaEngine(): Promise<SchemaEngineInfo> {
  return (await loadGlue()).info;
}

interface PanicRegistry {
  get(): string;
  set_message(message: string): void;
}

/** Where the wasm panic hook writes (the glue calls `PRISMA_WASM_PANIC_REGISTRY.set_message`). */
function panicRegistry(): PanicRegistry {
  const holder = globalThis as unknown as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry };
  if (!holder.PRISMA_WASM_PANIC_REGISTRY) {
    let message = "";
    holder.PRISMA_WASM_PANIC_REGISTRY = {
      get: () => message,
      set_message: (m: string) => {
        message = m;
      },
    };
  }
  return holder.PRISMA_WASM_PANIC_REGISTRY;
}

/**
 * A panic inside the engine surfaces as an uncaught `RuntimeError: unreachable` and leaves the
 * call's promise pending forever. This rejects the call instead, with the panic message, and
 * drops the instance so the next call gets a fresh one.
 */
async function guardPanics<T>(call: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const registry = panicRegistry();
  const before = registry.get();
  let timer: NodeJS.Timeout | undefined;
  const panicked = new Promise<never>((_, reject) => {
    const started = Date.now();
    timer = setInterval(() => {
      const message = registry.get();
      if (message && message !== before) {
        loaded = undefined;
        reject(new StratumError("MIGRATION_FAILED", `stratum: Prisma's schema engine panicked: ${message}`));
      } else if (Date.now() - started > timeoutMs) {
        reject(new StratumError("MIGRATION_FAILED", `stratum: Prisma's schema engine did not answer within ${timeoutMs} ms`));
      }
    }, 50);
  });
  try {
    return await Promise.race([call(), panicked]);
  } finally {
    clearInterval(timer);
  }
}

function loadGlue(): Promise<{ glue: Glue; info: SchemaEngineInfo }> {
  loaded ??= (async () => {
    const glue: Glue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    panicRegistry();
    const require = createRequire(import.meta.url);
    const packageWasm = join(dirname(require.resolve("@prisma/schema-engine-wasm")), "schema_engine_bg.wasm");
    const candidates: string[] = [];
    if (process.env.STRATUM_SCHEMA_ENGINE_WASM) candidates.push(process.env.STRATUM_SCHEMA_ENGINE_WASM);
    try {
      candidates.push(join(dirname(require.resolve("prisma/package.json")), "build", "schema_engine_bg.wasm"));
    } catch {
      // prisma CLI not installed: use the package's own wasm
    }
    candidates.push(packageWasm);
    const glueExports = new Set(Object.keys(glue));
    for (const wasmPath of candidates) {
      if (!existsSync(wasmPath)) continue;
      const module = new WebAssembly.Module(readFileSync(wasmPath));
      const imports = WebAssembly.Module.imports(module);
      const compatible = wasmPath === packageWasm || imports.every((i) => i.module === "./schema_engine_bg.js" && glueExports.has(i.name));
      if (!compatible) continue;
      const instance = new WebAssembly.Instance(module, {
        "./schema_engine_bg.js": glue as unknown as Record<string, unknown>,
      });
      glue.__wbg_set_wasm(instance.exports);
      const start = instance.exports.__wbindgen_start;
      if (typeof start === "function") (start as () => void)();
      return { glue, info: { version: glue.version(), wasmPath } };
    }
    throw new StratumError("MIGRATION_FAILED", "stratum: no usable schema engine wasm found (is @prisma/schema-engine-wasm installed?)");
  })();
  return loaded;
}

/** Prisma schema files of a schema folder (or one file), in a stable order. */
export function readSchemaFiles(schemaPath: string): SchemaContainer[] {
  const root = resolve(schemaPath);
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) {
        if (entry !== "migrations") walk(full);
      } else if (entry.endsWith(".prisma")) {
        files.push(full);
      }
    }
  };
  if (statSync(root).isDirectory()) walk(root);
  else files.push(root);
  if (files.length === 0) throw new StratumError("MIGRATION_FAILED", `stratum: no .prisma files under ${schemaPath}`);
  return files.map((file) => ({ path: relative(process.cwd(), file) || file, content: readFileSync(file, "utf8") }));
}

/** sha256 over the schema files' names and contents, for cache keys. */
export function schemaHash(schemaPath: string): string {
  const hash = createHash("sha256");
  for (const file of readSchemaFiles(schemaPath)) hash.update(file.path).update("\0").update(file.content).update("\0");
  return hash.digest("hex");
}

// PostgreSQL-internal catalog types the describer reads. `"char"` (OID 18, e.g.
// `pg_constraint.contype`) must reach the engine as a Character value, the others as text.
const CHAR_OID = 18;
const TEXT_LIKE_OIDS = new Set([22 /* int2vector */, 24 /* regproc */, 30 /* oidvector */, 194 /* pg_node_tree */, 2205 /* regclass */, 2206 /* regtype */]);
const TEXT_OID = 25;

interface PgResultLike {
  fields?: Array<{ dataTypeID: number }>;
  rows?: unknown[];
}
interface PatchableQueryable {
  queryRaw(query: SqlQuery): Promise<SqlResultSet>;
  performIO?(query: SqlQuery): Promise<PgResultLike>;
}

/**
 * Teaches a `@prisma/adapter-pg` connection (or transaction) the catalog types above. The
 * adapter maps column types from the pg result's fields inside `queryRaw`; we rewrite those
 * fields in `performIO` (which `queryRaw` awaits) and restore `"char"` columns as Character,
 * matching results by their `rows` array, which `queryRaw` passes through unchanged.
 */
function patchCatalogTypes<Q extends object>(queryable: Q): Q {
  const target = queryable as unknown as PatchableQueryable;
  const performIO = target.performIO?.bind(target);
  if (!performIO) return queryable; // not adapter-pg: nothing to patch
  const charColumns = new WeakMap<object, number[]>();
  target.performIO = async (query) => {
    const result = await performIO(query);
    const chars: number[] = [];
    result.fields?.forEach((field, index) => {
      if (field.dataTypeID === CHAR_OID) {
        chars.push(index);
        field.dataTypeID = TEXT_OID;
      } else if (TEXT_LIKE_OIDS.has(field.dataTypeID)) {
        field.dataTypeID = TEXT_OID;
      }
    });
    if (chars.length > 0 && result.rows) charColumns.set(result.rows, chars);
    return result;
  };
  const queryRaw = target.queryRaw.bind(target);
  target.queryRaw = async (query) => {
    const resultSet = await queryRaw(query);
    const chars = charColumns.get(resultSet.rows);
    if (chars) for (const index of chars) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
    return resultSet;
  };
  return queryable;
}

/** `PrismaPg` whose connections and transactions understand the catalog types. */
function catalogAwarePg(pool: pg.Pool): SqlDriverAdapterFactory {
  const factory = new PrismaPg(pool);
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = patchCatalogTypes(await factory.connect());
      const startTransaction = adapter.startTransaction.bind(adapter);
      adapter.startTransaction = async (isolationLevel) => patchCatalogTypes(await startTransaction(isolationLevel));
      return adapter;
    },
  };
}

export interface EngineSession {
  engine: SchemaEngine;
  close(): Promise<void>;
}

/**
 * Diffing from nothing needs no database, but the engine asks the server's version once when it
 * starts. This adapter answers that question for PostgreSQL 15, so the init migration is the same
 * whichever machine writes it, and refuses anything else.
 */
const OFFLINE_SERVER_VERSION_NUM = 150000;
function offlineAdapterFactory(): SqlDriverAdapterFactory {
  const refuse = (what: string): never => {
    throw new StratumError("MIGRATION_FAILED", `stratum: the offline schema engine adapter cannot ${what}; diff from a database URL instead`);
  };
  const queryRaw = async (query: SqlQuery): Promise<SqlResultSet> => {
    if (/FROM pg_namespace WHERE nspname = \$1\), version\(\)/.test(query.sql)) {
      return {
        columnNames: ["exists", "version", "numeric_version"],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, "PostgreSQL 15.0 (stratum offline diff)", OFFLINE_SERVER_VERSION_NUM]],
      };
    }
    return refuse(`run ${JSON.stringify(query.sql.slice(0, 80))}`);
  };
  const adapter: SqlDriverAdapter = {
    provider: "postgres",
    adapterName: "stratum-offline",
    queryRaw,
    executeRaw: async () => refuse("execute statements"),
    executeScript: async () => refuse("execute scripts"),
    startTransaction: async () => refuse("start transactions"),
    dispose: async () => undefined,
  };
  return { provider: "postgres", adapterName: "stratum-offline", connect: async () => adapter };
}

/** Opens the wasm schema engine on a database (`url`), or offline (`null`, diffs from empty only). */
export async function openSchemaEngine(url: string | null, files: SchemaContainer[], log?: (line: string) => void): Promise<EngineSession> {
  const { glue } = await loadGlue();
  const pool = url === null ? null : new pg.Pool({ connectionString: url, max: 2 });
  pool?.on("error", () => undefined);
  const factory = bindSqlAdapterFactory(pool ? catalogAwarePg(pool) : offlineAdapterFactory());
  let engine: SchemaEngine;
  try {
    engine = await glue.SchemaEngine.new({ datamodels: files.map((f) => [f.path, f.content] as [string, string]) }, (line: string) => log?.(line), factory);
  } catch (error) {
    await pool?.end().catch(() => undefined);
    throw error;
  }
  return {
    engine,
    async close() {
      try {
        engine.free();
      } catch {
        // after a panic the instance may be unusable; it is dropped anyway
      }
      await pool?.end().catch(() => undefined);
    },
  };
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };
const EMPTY_MIGRATION = /^\s*(--\s*This is an empty migration\.\s*)?$/;

/** True when a diff script changes nothing. */
export function isEmptyMigration(sql: string | null | undefined): boolean {
  return !sql || EMPTY_MIGRATION.test(sql);
}

export interface DiffOptions {
  /** Starting point: nothing, or the live database at `url`. */
  from: "empty" | { url: string };
  /** Prisma schema folder (or file) describing the end state. */
  toSchemaDir: string;
  log?: (line: string) => void;
}

/** SQL that takes `from` to the schema: from `"empty"` it is the init migration (no database needed). */
export async function diffSql(options: DiffOptions): Promise<string> {
  const files = readSchemaFiles(options.toSchemaDir);
  const session = await openSchemaEngine(options.from === "empty" ? null : options.from.url, files, options.log);
  try {
    const result = await guardPanics(() =>
      session.engine.diff({
        from: options.from === "empty" ? { tag: "empty" } : { tag: "schemaDatasource", files, configDir: process.cwd() },
        to: { tag: "schemaDatamodel", files },
        script: true,
        exitCode: null,
        filters: NO_FILTERS,
      }),
    );
    return result.stdout ?? "";
  } finally {
    await session.close();
  }
}

/**
 * SQL needed to bring the database at `url` to the schema; `''` when there is no drift.
 * Objects Prisma does not model (functions, triggers, policies, grants, CHECKs) are not drift.
 */
export async function driftSql(url: string, schemaDir: string, log?: (line: string) => void): Promise<string> {
  const sql = await diffSql(log ? { from: { url }, toSchemaDir: schemaDir, log } : { from: { url }, toSchemaDir: schemaDir });
  return isEmptyMigration(sql) ? "" : sql;
}

/** The migrations folder as the engine reads it (what `prisma migrate` commands load from disk). */
export function migrationsList(migrationsDir: string): MigrationList {
  const base = resolve(migrationsDir);
  const lockPath = join(base, "migration_lock.toml");
  const directories = existsSync(base)
    ? readdirSync(base)
        .filter((name) => statSync(join(base, name)).isDirectory())
        .sort()
        .map((name) => {
          const file = join(base, name, "migration.sql");
          let content: MigrationDirectory["migrationFile"]["content"];
          try {
            content = { tag: "ok", value: readFileSync(file, "utf8") };
          } catch (error) {
            content = { tag: "error", value: error instanceof Error ? error.message : String(error) };
          }
          return { path: name, migrationFile: { path: "migration.sql", content } };
        })
    : [];
  return {
    baseDir: base,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: directories,
  };
}

/**
 * How Prisma's own migration logic sees the database at `url` (what `prisma migrate status` and
 * `deploy` decide from): failed and edited migrations, and whether anything is left to apply.
 */
export async function prismaMigrationStatus(url: string, migrationsDir: string, schemaDir: string): Promise<DiagnoseMigrationHistoryOutput> {
  const session = await openSchemaEngine(url, readSchemaFiles(schemaDir));
  try {
    return await guardPanics(() =>
      session.engine.diagnoseMigrationHistory({ migrationsList: migrationsList(migrationsDir), optInToShadowDatabase: false, filters: NO_FILTERS }),
    );
  } finally {
    await session.close();
  }
}

/** `prisma migrate deploy`, run by the WASM engine itself; returns the migrations it applied. */
export async function prismaDeploy(url: string, migrationsDir: string, schemaDir: string): Promise<string[]> {
  const session = await openSchemaEngine(url, readSchemaFiles(schemaDir));
  try {
    const output = await guardPanics(() => session.engine.applyMigrations({ migrationsList: migrationsList(migrationsDir), filters: NO_FILTERS }));
    return output.appliedMigrationNames;
  } finally {
    await session.close();
  }
}
