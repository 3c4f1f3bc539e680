/**
 * The scoped driver (pg-pipeline.ts) subclasses node-postgres internals that are not its public
 * API: pg.Query's submit / _getRows / handleDataRow / handleCommandComplete / handleEmptyQuery /
 * handleError, the connection's parse / bind / execute / sync and parsedStatements, the client's
 * _txStatus. A pg release that renamed or reordered them would not fail loudly: statements would
 * go out without their scope prelude (no rows), or with it after the query. So once per process,
 * before the first scoped client is built, this probe checks that they are there AND behave as
 * the pipeline assumes (an extended-protocol query hands its Execute and Sync to _getRows after
 * Parse/Bind/Describe), against a recording stand-in for the connection — no database involved.
 * A failure is UNSUPPORTED_DRIVER_VERSION naming the installed and the supported versions
 * (docs/architecture.md §8).
 */
import { createRequire } from "node:module";
import pg from "pg";
import { StratumError } from "../core/errors.js";

/** The pg releases the pipeline is built and tested against (docs/architecture.md §8). */
export const SUPPORTED_PG_VERSIONS = "pg 8.x from 8.23 (tested with 8.23.1)";

/** What the probe needs of a pg module; the real one by default, a stand-in in tests. */
export interface PgModuleLike {
  Query: unknown;
  Client: unknown;
  Connection?: unknown;
}

const QUERY_METHODS = ["submit", "_getRows", "handleDataRow", "handleCommandComplete", "handleEmptyQuery", "handleError"] as const;
const CONNECTION_METHODS = ["parse", "bind", "execute", "sync"] as const;
/** What an extended-protocol query sends for a statement the connection has not parsed. */
const EXPECTED_MESSAGES = ["parse", "bind", "describe", "_getRows", "execute", "sync"];

type Ctor = new (...args: unknown[]) => Record<string, unknown>;

function isFunction(value: unknown): value is (...args: unknown[]) => unknown {
  return typeof value === "function";
}

function prototypeOf(value: unknown): Record<string, unknown> | undefined {
  return isFunction(value) ? (value.prototype as Record<string, unknown> | undefined) : undefined;
}

/** Runs a query's submit against a recording connection; returns the messages in order. */
function recordSubmit(Query: Ctor): string[] {
  const sent: string[] = [];
  const record =
    (name: string) =>
    (..._args: unknown[]): void => {
      sent.push(name);
    };
  const connection = {
    stream: {},
    parsedStatements: {},
    submittedNamedStatements: {},
    parse: record("parse"),
    bind: record("bind"),
    describe: record("describe"),
    execute: record("execute"),
    sync: record("sync"),
    flush: record("flush"),
    close: record("close"),
    query: record("query"),
  };
  const getRows = prototypeOf(Query)?._getRows;
  if (!isFunction(getRows)) throw new Error("no _getRows");
  const Probe = class extends Query {
    _getRows(...args: unknown[]): unknown {
      sent.push("_getRows");
      return getRows.apply(this, args);
    }
  };
  const query = new Probe({ text: "SELECT 1", name: "stratum_driver_probe", values: [], queryMode: "extended" });
  const submit = query.submit as (c: unknown) => unknown;
  const refused = submit.call(query, connection);
  if (refused instanceof Error) throw refused;
  return sent;
}

/**
 * The internals of `driver` the pipeline relies on that are missing or behave differently, as
 * human-readable items; empty when the driver is supported.
 */
export function probeDriver(driver: PgModuleLike = pg as unknown as PgModuleLike): string[] {
  const problems: string[] = [];
  const query = prototypeOf(driver.Query);
  if (!query) return ["pg.Query is not a class"];
  for (const m of QUERY_METHODS) if (!isFunction(query[m])) problems.push(`pg.Query.prototype.${m}()`);

  const connection = prototypeOf(driver.Connection);
  if (connection) for (const m of CONNECTION_METHODS) if (!isFunction(connection[m])) problems.push(`pg.Connection.prototype.${m}()`);

  if (!isFunction(driver.Client)) problems.push("pg.Client is not a class");
  else {
    try {
      // Constructing a client opens nothing: the socket connects only in connect().
      const client = new (driver.Client as unknown as Ctor)({}) as {
        _txStatus?: unknown;
        connection?: { parsedStatements?: unknown } & Record<string, unknown>;
      };
      if (!("_txStatus" in client)) problems.push("client._txStatus");
      const conn = client.connection;
      if (!conn || typeof conn.parsedStatements !== "object" || conn.parsedStatements === null) problems.push("client.connection.parsedStatements");
      if (!connection && conn) for (const m of CONNECTION_METHODS) if (!isFunction(conn[m])) problems.push(`client.connection.${m}()`);
    } catch (error) {
      problems.push(`new pg.Client() threw: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) return problems;

  try {
    const sent = recordSubmit(driver.Query as Ctor);
    if (sent.join(",") !== EXPECTED_MESSAGES.join(",")) {
      problems.push(`an extended query sends ${sent.join(", ") || "nothing"} (expected ${EXPECTED_MESSAGES.join(", ")})`);
    }
  } catch (error) {
    problems.push(`pg.Query.submit() failed on a recording connection: ${(error as Error).message}`);
  }
  return problems;
}

function installedPgVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require("pg/package.json") as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

let checked = false;

/**
 * Throws UNSUPPORTED_DRIVER_VERSION when the installed pg lacks what the scoped driver relies on.
 * Runs the probe once per process (later calls return at once); call it before building the
 * first scoped pg client.
 */
export function assertSupportedDriver(driver?: PgModuleLike): void {
  if (checked && driver === undefined) return;
  const problems = probeDriver(driver);
  if (problems.length > 0) {
    const installed = driver === undefined ? installedPgVersion() : "a stand-in";
    throw new StratumError(
      "UNSUPPORTED_DRIVER_VERSION",
      `stratum cannot scope statements with the installed pg (${installed}): it lacks or changed ${problems.join("; ")}. ` +
        `Supported: ${SUPPORTED_PG_VERSIONS}. Install a supported pg, and check that only one copy of pg is resolved.`,
      { installed, supported: SUPPORTED_PG_VERSIONS, problems },
    );
  }
  if (driver === undefined) checked = true;
}

/** The @prisma/adapter-pg releases the adapter is built and tested against (docs/architecture.md §8). */
export const SUPPORTED_ADAPTER_PG_VERSIONS = "@prisma/adapter-pg 7.x (tested with 7.10.1)";

/** @prisma/adapter-pg's PrismaPg, or a stand-in in tests: constructed as `new PrismaPg(pool, options)`. */
export type PrismaPgLike = abstract new (...args: never[]) => unknown;
type PrismaPgFactory = new (pool: unknown, options: { statementNameGenerator: (query: { sql: string }) => string }) => { connect(): Promise<unknown> };

/**
 * The behaviour of @prisma/adapter-pg that stratumAdapter relies on, checked against a pool that
 * records instead of connecting: a pg.Pool subclass (StratumPool) is used as the pool itself, not
 * mistaken for a config object — which happens when the adapter resolves another copy of pg, and
 * would run every statement on a plain pool, unscoped; and a query reaches the pool as one config
 * object carrying the statement name from `statementNameGenerator` (the pipeline attaches the
 * scope to that object). Returns the problems found; empty when supported.
 */
export async function probePrismaAdapter(PrismaPg: PrismaPgLike): Promise<string[]> {
  const problems: string[] = [];
  const received: unknown[] = [];
  const Base = pg.Pool as unknown as new (config: unknown) => { query(...a: unknown[]): unknown; end(): Promise<void> };
  const Recording = class extends Base {
    override query(...args: unknown[]): unknown {
      received.push(args[0]);
      return Promise.resolve({ rows: [[1]], fields: [{ name: "probe", dataTypeID: 23 }], rowCount: 1, command: "SELECT" });
    }
  };
  const pool = new Recording({ max: 1 });
  try {
    const factory = new (PrismaPg as unknown as PrismaPgFactory)(pool, { statementNameGenerator: () => "stratum_adapter_probe" });
    const adapter = (await factory.connect()) as { queryRaw(q: unknown): Promise<unknown>; dispose?(): Promise<void> };
    await adapter.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] });
    const config = received[0] as { text?: unknown; name?: unknown } | undefined;
    if (received.length === 0) problems.push("the adapter did not send the query to the pool it was given (another copy of pg?)");
    else if (typeof config !== "object" || config?.text !== "SELECT 1") problems.push("the adapter no longer passes a query config object to pool.query()");
    else if (config.name !== "stratum_adapter_probe") problems.push("the adapter no longer names statements with statementNameGenerator");
    await adapter.dispose?.();
  } catch (error) {
    problems.push(`the adapter failed against a recording pool: ${(error as Error).message}`);
  } finally {
    await pool.end().catch(() => undefined);
  }
  return problems;
}

let adapterChecked: Promise<void> | undefined;

/**
 * Throws UNSUPPORTED_DRIVER_VERSION when @prisma/adapter-pg does not behave as stratumAdapter
 * relies on (see probePrismaAdapter). Probes once per process; await it before the first
 * PrismaPg over a StratumPool is connected.
 */
export function assertSupportedPrismaAdapter(PrismaPg: PrismaPgLike): Promise<void> {
  adapterChecked ??= probePrismaAdapter(PrismaPg).then((problems) => {
    if (problems.length === 0) return;
    adapterChecked = undefined;
    throw new StratumError(
      "UNSUPPORTED_DRIVER_VERSION",
      `stratum cannot scope statements with the installed @prisma/adapter-pg: ${problems.join("; ")}. ` +
        `Supported: ${SUPPORTED_ADAPTER_PG_VERSIONS} with ${SUPPORTED_PG_VERSIONS}, one copy of pg shared by the adapter and stratum.`,
      { supported: `${SUPPORTED_ADAPTER_PG_VERSIONS}; ${SUPPORTED_PG_VERSIONS}`, problems },
    );
  });
  return adapterChecked;
}
