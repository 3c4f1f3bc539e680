/**
 * The guard for pg's internals (src/isolation/driver-guard.ts): the installed pg passes, and a pg
 * missing any internal the scoped driver relies on — or whose queries send their messages in
 * another order — is refused with UNSUPPORTED_DRIVER_VERSION naming what is missing and the
 * supported versions. Likewise for @prisma/adapter-pg: it must query the pool it is given, with
 * the generated statement name.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  assertSupportedDriver,
  assertSupportedPrismaAdapter,
  probeDriver,
  probePrismaAdapter,
  SUPPORTED_PG_VERSIONS,
  type PgModuleLike,
} from "../src/isolation/driver-guard.js";
import { throwsWithCode } from "./support/errors.js";

type AnyClass = new (...args: unknown[]) => object;

/** The real pg module with Query (or Client) replaced by a subclass changed by `change`. */
function withQuery(change: (proto: Record<string, unknown>) => void): PgModuleLike {
  const Query = class extends (pg.Query as unknown as AnyClass) {};
  change(Query.prototype as unknown as Record<string, unknown>);
  return { Query, Client: pg.Client, Connection: (pg as unknown as { Connection: unknown }).Connection };
}

describe("driver guard", () => {
  it("accepts the installed pg, once per process", () => {
    expect(probeDriver()).toEqual([]);
    expect(() => assertSupportedDriver()).not.toThrow();
    expect(() => assertSupportedDriver()).not.toThrow();
  });

  it.each(["submit", "_getRows", "handleDataRow", "handleCommandComplete", "handleEmptyQuery", "handleError"])(
    "refuses a pg whose Query lacks %s()",
    (method) => {
      const driver = withQuery((proto) => {
        proto[method] = undefined;
      });
      const error = throwsWithCode(() => assertSupportedDriver(driver), "UNSUPPORTED_DRIVER_VERSION");
      expect(error.message).toContain(`pg.Query.prototype.${method}()`);
      expect(error.message).toContain(SUPPORTED_PG_VERSIONS);
      expect(error.details).toMatchObject({ supported: SUPPORTED_PG_VERSIONS });
    },
  );

  it.each(["parse", "bind", "execute", "sync"])("refuses a pg whose Connection lacks %s()", (method) => {
    const Connection = class extends (pg as unknown as { Connection: AnyClass }).Connection {};
    (Connection.prototype as unknown as Record<string, unknown>)[method] = undefined;
    const error = throwsWithCode(() => assertSupportedDriver({ Query: pg.Query, Client: pg.Client, Connection }), "UNSUPPORTED_DRIVER_VERSION");
    expect(error.message).toContain(`pg.Connection.prototype.${method}()`);
  });

  it("refuses a pg whose client has no _txStatus or no connection.parsedStatements", () => {
    const NoStatus = class extends (pg.Client as unknown as AnyClass) {
      constructor(...args: unknown[]) {
        super(...args);
        delete (this as { _txStatus?: unknown })._txStatus;
        delete (this as unknown as { connection: { parsedStatements?: unknown } }).connection.parsedStatements;
      }
    };
    const problems = probeDriver({ Query: pg.Query, Client: NoStatus });
    expect(problems).toEqual(["client._txStatus", "client.connection.parsedStatements"]);
  });

  it("refuses a pg whose extended queries no longer leave Execute and Sync to _getRows", () => {
    // As if a release sent Execute/Sync from prepare() itself: the postlude could not go between them.
    const driver = withQuery((proto) => {
      proto.prepare = function (this: { text: string }, connection: Record<string, (m?: unknown) => void>) {
        connection.parse!({ text: this.text });
        connection.bind!({});
        connection.describe!({});
        connection.execute!({});
        connection.sync!();
      };
    });
    const error = throwsWithCode(() => assertSupportedDriver(driver), "UNSUPPORTED_DRIVER_VERSION");
    expect(error.message).toMatch(/sends parse, bind, describe, execute, sync \(expected parse, bind, describe, _getRows, execute, sync\)/);
  });
});

describe("adapter guard", () => {
  it("accepts the installed @prisma/adapter-pg over a pg.Pool subclass", async () => {
    expect(await probePrismaAdapter(PrismaPg)).toEqual([]);
    await expect(assertSupportedPrismaAdapter(PrismaPg)).resolves.toBeUndefined();
  });

  it("refuses an adapter that does not use the pool it is given (as with a second copy of pg)", async () => {
    // What PrismaPg does when `pool instanceof pg.Pool` fails: it treats the pool as a config.
    const OwnPool = class {
      constructor(_pool: unknown) {}
      async connect() {
        return { queryRaw: async () => ({ columnNames: [], columnTypes: [], rows: [] }) };
      }
    };
    const problems = await probePrismaAdapter(OwnPool);
    expect(problems.join()).toMatch(/did not send the query to the pool it was given/);
  });

  it("refuses an adapter that drops the statement name", async () => {
    const Unnamed = class {
      constructor(private readonly pool: { query(c: unknown): Promise<unknown> }) {}
      async connect() {
        return { queryRaw: async (q: { sql: string }) => this.pool.query({ text: q.sql }) };
      }
    };
    const problems = await probePrismaAdapter(Unnamed);
    expect(problems).toEqual(["the adapter no longer names statements with statementNameGenerator"]);
  });
});
