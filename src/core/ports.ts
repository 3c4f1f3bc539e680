/**
 * Interfaces between services. A service depends on these shapes, never on another service's
 * module, so each can be built and tested alone and the extension wires them together.
 */
import type { Db } from "./db.js";

/** Who is acting: from runWithActor / request context, "system" when none. */
export interface Actor {
  id: string;
  type?: "user" | "api_key" | "system" | "service";
  requestId?: string;
}

export interface AuditEntry {
  tenantId: string | null;
  /** Dotted verb, e.g. "tenant.create", "config.set", "permission.revoke", "isolation.move". */
  action: string;
  targetType?: string;
  targetId?: string;
  before?: unknown;
  after?: unknown;
  /**
   * A transaction-local setting (`stratum.<name>`, set by an earlier statement of the same
   * transaction) holding a JSON object merged over `after` as the row is written: the values only
   * the database knows when the entry is queued, such as a created tenant's path and timestamps
   * (tenants/create.ts). Not redacted: it must hold no secrets.
   */
  mergeAfter?: string;
}

/** Writes one audit row inside the caller's transaction, so it commits and rolls back with it. */
export interface AuditSink {
  record(tx: Db, entry: AuditEntry): Promise<void>;
}

/** Binds a ciphertext to where it lives: copied to another row, tenant or column, it fails. */
export interface CipherContext {
  tenantId: string;
  table: string;
  column: string;
  rowId: string;
}

export interface ValueCipher {
  encrypt(plaintext: string, context: CipherContext): string;
  decrypt(sealed: string, context: CipherContext): string;
}

/** A change other processes must hear about (cache invalidation, webhooks). */
export interface ChangeEvent {
  kind: "tenant" | "config" | "permission" | "isolation";
  tenantId: string;
  /** True when the change affects the tenant's whole subtree (moves, archive, locked keys). */
  subtree: boolean;
}

/** Publishes inside the writer's transaction (delivered on commit) and fans out to subscribers. */
export interface ChangeBus {
  publish(tx: Db, event: ChangeEvent): Promise<void>;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  close(): Promise<void>;
}
