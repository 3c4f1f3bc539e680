/**
 * Owner-role connections, opened only to create or remove tenant schemas and databases. The app
 * role never gets CREATE: DDL is admin work on a separate connection (docs/architecture.md §4 rule 4).
 */
import pg from "pg";
import { StratumError } from "../core/errors.js";
import { placementUrl } from "../isolation/adapter.js";
import type { PlacementOptions } from "../isolation/placement.js";
import type { AdminAccess } from "../isolation/strategy.js";

export interface AdminOptions {
  /** Owner-role URL of the main database (schema tenants, reading the tenant tables' DDL). */
  connectionString?: string;
  /** Named servers for database tenants: a URL of a role that may CREATE DATABASE there. */
  servers?: Record<string, string>;
  /** New DATABASE tenants: the server when none is named ("first" or "least-loaded"), and tags per server. */
  placement?: PlacementOptions;
}

export function createAdminAccess(options: AdminOptions): AdminAccess {
  const connect = async (connectionString: string) => {
    const client = new pg.Client({ connectionString });
    // A backend terminated between statements (failover, restart, DROP DATABASE … FORCE) emits
    // 'error'; the statement in flight fails on its own, and nothing else may crash the process.
    client.on("error", () => undefined);
    await client.connect();
    return client;
  };
  const need = (what: string): never => {
    throw new StratumError("UNSAFE_CONNECTION", `${what} needs an owner connection: stratum({ admin: { connectionString, servers } }).`);
  };
  return {
    main: () => (options.connectionString ? connect(options.connectionString) : need("Creating a tenant schema")),
    server: (name) => {
      const url = options.servers?.[name];
      return url ? connect(url) : need(`Server "${name}"`);
    },
    database: (placement) => connect(placementUrl(options.servers ?? {}, placement)),
    servers: () => Object.keys(options.servers ?? {}),
    placement: () => options.placement ?? {},
  };
}
