/**
 * Read replicas: `$tenant(id, { replica: true })` sends the tenant's standalone reads to a
 * streaming hot standby of the database the tenant lives in, scoped exactly as on the primary
 * (the standby is a physical copy: same policies, same scope tokens, same grants). Writes,
 * `$executeRaw` and transactions stay on the primary (scoped-proxy.ts decides; docs/scale.md#read-replicas).
 *
 * A statement on a standby must run read-only: PostgreSQL refuses `transaction_read_only = off`
 * during recovery ("cannot set transaction read-write mode during recovery"), and the scope
 * prelude sets it per statement. So a replica scope is a read-only scope, and a write that still
 * reaches it (raw SQL through `$queryRaw`) fails closed, with REPLICA_WRITE_REFUSED.
 */
import type { SqlDriverAdapter, SqlQuery } from "@prisma/driver-adapter-utils";
import { rememberDriverError } from "../core/driver-errors.js";
import { StratumError } from "../core/errors.js";
import { PoolCache } from "./pool-cache.js";
import { runInScope, type TenantScope } from "./scope.js";

export interface ReplicaOptions {
  /** The app role's URL of a hot standby of the main database. */
  main?: string;
  /**
   * Hot standbys of named servers (stratumAdapter's `servers`), as the app role's URL: a DATABASE
   * tenant placed at `<server>/<database>` is read at that standby with the database name swapped in.
   */
  servers?: Record<string, string>;
}

export type ReplicaOption = true | { after: string };

/** A WAL position as PostgreSQL prints it (`pg_current_wal_insert_lsn()::text`): two hex halves. */
const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** `$tenant(id, { replica })` checked: `true`, or `{ after: <lsn> }`. */
export function replicaOption(option: true | { after: string }): ReplicaOption {
  if (option === true) return true;
  if (typeof option?.after !== "string" || !LSN.test(option.after)) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `$tenant(id, { replica: { after } }) needs a WAL position such as "0/3000148" (SELECT pg_current_wal_insert_lsn()::text on the tenant's home after the write); got ${JSON.stringify(option?.after)}.`,
    );
  }
  return { after: option.after.toUpperCase() };
}

/** The part of a scoped client's cache key the replica option decides. */
export function replicaKey(option: boolean | { after: string } | undefined): string {
  return typeof option === "object" ? option.after : String(option === true);
}

/** The scope a replica read runs in: read-only, which a standby demands of every transaction. */
export function onReplica(scope: TenantScope, option: boolean | { after: string } = true): TenantScope {
  return { ...scope, replica: true, readOnly: true, ...(typeof option === "object" ? { replicaAfter: option.after } : {}) };
}

/** SQLSTATE read_only_sql_transaction: a write in a read-only transaction (any standby statement). */
const READ_ONLY_SQL_TRANSACTION = "25006";

function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { originalCode?: unknown } } | null;
  if (typeof e?.code === "string") return e.code;
  return typeof e?.cause?.originalCode === "string" ? e.cause.originalCode : undefined;
}

/** A write refused on the replica path, as a StratumError saying where writes go; else undefined. */
export function replicaWriteRefused(error: unknown, scope: TenantScope): StratumError | undefined {
  if (error instanceof StratumError || sqlState(error) !== READ_ONLY_SQL_TRANSACTION) return undefined;
  return rememberDriverError(
    new StratumError(
      "REPLICA_WRITE_REFUSED",
      `A write reached the read-replica path of tenant ${scope.tenantId} and was refused (nothing was written). Model writes and $executeRaw on a replica client go to the primary; raw SQL that writes must use $executeRaw or prisma.$tenant(id) without { replica: true }.`,
      { tenantId: scope.tenantId, sqlState: READ_ONLY_SQL_TRANSACTION },
      { cause: error },
    ),
  );
}

interface OpenPool {
  adapter: SqlDriverAdapter;
  close: () => Promise<void>;
}

/** The main database's standby, under a key no placement can take (placements are `<server>/<db>`). */
const MAIN = "\0main";

/** Pools on standbys, opened on first use and bounded like the tenant-database pools. */
export class ReplicaPools {
  private readonly pools: PoolCache;

  constructor(
    private readonly options: ReplicaOptions,
    open: (url: string) => Promise<OpenPool>,
    placementUrl: (servers: Record<string, string>, placement: string) => string,
    maxPools: number,
  ) {
    this.pools = new PoolCache({
      maxPools,
      open: (key) => open(key === MAIN ? options.main! : placementUrl(options.servers ?? {}, key)),
    });
  }

  /**
   * A lease on the standby of the scope's home, or undefined when that home has none: the read
   * then runs on the primary, still read-only (a fleet may have standbys for some servers only).
   */
  async acquire(scope: TenantScope): Promise<{ adapter: SqlDriverAdapter; release: () => void } | undefined> {
    const key = this.keyOf(scope);
    if (key === undefined) return undefined;
    const lease = await this.pools.acquire(key);
    if (!scope.replicaAfter || (await replayed(lease.adapter, scope.replicaAfter))) return lease;
    lease.release();
    return undefined;
  }

  private keyOf(scope: TenantScope): string | undefined {
    if (!scope.placement) return this.options.main ? MAIN : undefined;
    const server = scope.placement.slice(0, Math.max(0, scope.placement.indexOf("/")));
    return this.options.servers?.[server] ? scope.placement : undefined;
  }

  closeAll(): Promise<void> {
    return this.pools.closeAll();
  }
}

/**
 * Whether the standby has replayed `lsn`: one unscoped round trip before the read. Replay only
 * moves forward, so an answer from any connection of the standby holds for the read that follows.
 */
async function replayed(adapter: SqlDriverAdapter, lsn: string): Promise<boolean> {
  const query: SqlQuery = {
    sql: "SELECT pg_catalog.pg_last_wal_replay_lsn() >= $1::pg_lsn",
    args: [lsn],
    argTypes: [{ scalarType: "string", arity: "scalar" }],
  };
  const result = await runInScope(undefined, () => adapter.queryRaw(query));
  return result.rows[0]?.[0] === true;
}
