/**
 * Config inheritance. Values flow root to leaf; the nearest value wins unless an ancestor locked
 * the key, in which case the highest locking ancestor's value wins and descendants' writes of the
 * key are refused (CONFIG_LOCKED). Archived ancestors drop out of resolution. One SQL statement
 * resolves every key of a tenant at any depth; results are cached per tenant and invalidated by
 * change events for the tenant or any ancestor.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { preparedAs, type Db } from "../core/db.js";
import type { AuditSink, ChangeBus, ChangeEvent, CipherContext, ValueCipher } from "../core/ports.js";
import { StratumError, isStratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import { ResolveCache, type ResolveCacheOptions } from "./cache.js";
import { CHAIN_CTES, KeySchema, assertTenantId, lockTenant, resolveThroughCache, tenantNotFound, type TenantRow } from "./tree.js";
import type {
  BatchOutcome,
  BatchResult,
  ConfigDiff,
  ConfigEntry,
  ConfigSchema,
  JsonValue,
  ReadOptions,
  ResolvedConfig,
  ResolvedConfigEntry,
  SetConfigInput,
} from "./types.js";

export interface ConfigServiceDeps<S extends ConfigSchema | undefined = undefined> {
  audit: AuditSink;
  /** Required to store sensitive values. */
  cipher?: ValueCipher;
  /** Change events are published on it inside each writer's transaction; the cache listens to it. */
  bus?: ChangeBus;
  /** Typed config: setConfig refuses values that do not match, resolveConfig is typed. */
  schema?: S;
  /**
   * The resolve cache: a shared instance, options, `true` (local-only cache) or `false`.
   * Default: enabled when a bus is given (cross-process invalidation), disabled otherwise.
   */
  cache?: ResolveCache | ResolveCacheOptions | boolean;
  /**
   * Largest value setConfig accepts, in bytes of its JSON text (default 64 KiB, DEFAULT_MAX_VALUE_BYTES).
   * Config is read on hot paths and cached per process; bulk data belongs in tables.
   */
  maxValueBytes?: number;
}

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;

/** The value type per key: the schema's output when typed, any JSON otherwise. */
export type ConfigShape<S> = S extends ConfigSchema ? z.output<S> : Record<string, JsonValue>;

export interface ConfigService<T = Record<string, JsonValue>> {
  setConfig<K extends keyof T & string>(tenantId: string, key: K, input: SetConfigInput<T[K]>): Promise<ConfigEntry<T[K]>>;
  setConfigBatch(
    tenantId: string,
    entries: ReadonlyArray<{ key: string } & SetConfigInput<unknown>> | Record<string, SetConfigInput<unknown>>,
  ): Promise<BatchOutcome>;
  deleteConfig(tenantId: string, key: keyof T & string): Promise<void>;
  /** The tenant's own values only (no inheritance). */
  getConfig(tenantId: string, options?: ReadOptions): Promise<Record<string, ConfigEntry<unknown>>>;
  resolveConfig(tenantId: string, options?: ReadOptions): Promise<ResolvedConfig<T>>;
  resolveConfigKey<K extends keyof T & string>(tenantId: string, key: K, options?: ReadOptions): Promise<ResolvedConfigEntry<T[K]> | null>;
  diffConfig(tenantA: string, tenantB: string, options?: ReadOptions): Promise<ConfigDiff>;
  /** The cache in use (null when disabled). */
  readonly cache: ResolveCache | null;
  /** Detaches the cache from the bus. The bus itself belongs to the caller. */
  close(): void;
}

const KEY = KeySchema;

const SET_INPUT = z.object({
  value: z.json(),
  locked: z.boolean().optional(),
  sensitive: z.boolean().optional(),
});

interface RawEntry {
  id: string;
  key: string;
  value: JsonValue | null;
  locked: boolean;
  sensitive: boolean;
  encrypted_value: string | null;
  tenant_id: string;
  depth: number;
}

interface RawResolution {
  tenantId: string;
  chain: string[];
  entries: RawEntry[];
}

interface ConfigRow {
  id: string;
  tenant_id: string;
  key: string;
  value: JsonValue | null;
  locked: boolean;
  sensitive: boolean;
  encrypted_value: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** One statement: the chain from the ltree path, the config rows on it, one winner per key.
 * The chain comes back as JSON: JSON.parse costs less Node CPU than pg's text[] parser. */
export const RESOLVE_CONFIG_SQL = `
WITH ${CHAIN_CTES},
win AS (
  SELECT DISTINCT ON (c.key) c.id, c.key, c.value, c.locked, c.sensitive, c.encrypted_value, c.tenant_id, l.depth
    FROM live l
   CROSS JOIN LATERAL (SELECT * FROM public.stratum_config x WHERE x.tenant_id = l.id OFFSET 0) c -- index probe per ancestor
   ORDER BY c.key, c.locked DESC, CASE WHEN c.locked THEN l.depth ELSE -l.depth END
)
SELECT (SELECT json_agg(chain.id ORDER BY chain.depth) FROM chain) AS chain,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'id', w.id, 'key', w.key, 'value', w.value, 'locked', w.locked, 'sensitive', w.sensitive,
                 'encrypted_value', w.encrypted_value, 'tenant_id', w.tenant_id, 'depth', w.depth) ORDER BY w.key),
               '[]'::jsonb) FROM win w) AS entries`;

const CONFIG_COLUMNS = `id::text, tenant_id::text, key, value, locked, sensitive, encrypted_value, version, created_at, updated_at`;

export function createConfigService<S extends ConfigSchema | undefined = undefined>(db: Db, deps: ConfigServiceDeps<S>): ConfigService<ConfigShape<S>> {
  type T = ConfigShape<S>;
  const cache = makeCache(deps.cache, deps.bus);
  const detach = cache && deps.bus ? cache.attach(deps.bus) : null;
  const schema: ConfigSchema | undefined = deps.schema;
  // Prepared once per connection: at depth 20 planning the resolve cost more than running it.
  const resolveDb = preparedAs(db, RESOLVE_CONFIG_SQL, "stratum_resolve_config");

  function cipherContext(tenantId: string, rowId: string): CipherContext {
    return { tenantId, table: "stratum_config", column: "value", rowId };
  }

  function decryptValue(tenantId: string, rowId: string, sealed: string): JsonValue {
    if (!deps.cipher) {
      throw new StratumError("DECRYPTION_FAILED", "A sensitive config value was asked for but no cipher is configured; pass encryptionKey.");
    }
    try {
      return JSON.parse(deps.cipher.decrypt(sealed, cipherContext(tenantId, rowId))) as JsonValue;
    } catch (error) {
      if (isStratumError(error)) throw error;
      throw new StratumError("DECRYPTION_FAILED", `Could not decrypt config row ${rowId}.`, { rowId }, { cause: error });
    }
  }

  function present(row: ConfigRow, includeSensitive: boolean): ConfigEntry {
    const entry: ConfigEntry = {
      id: row.id,
      tenant_id: row.tenant_id,
      key: row.key,
      value: row.value,
      locked: row.locked,
      sensitive: row.sensitive,
      version: row.version,
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
    if (row.sensitive) {
      if (includeSensitive && row.encrypted_value !== null) entry.value = decryptValue(row.tenant_id, row.id, row.encrypted_value);
      else if (!includeSensitive) {
        entry.value = null;
        entry.redacted = true;
      }
    }
    return entry;
  }

  function checkValue(key: string, value: unknown): JsonValue {
    if (!schema) return value as JsonValue;
    const field = schema.shape[key];
    if (!field) {
      const parsed = schema.partial().safeParse({ [key]: value });
      if (!parsed.success) {
        throw new StratumError("VALIDATION_FAILED", `Config key "${key}" is not in the config schema; add it to the schema or use a known key.`, {
          key,
        });
      }
      return value as JsonValue;
    }
    const parsed = (field as z.ZodType).safeParse(value);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${[key, ...i.path.map(String)].join(".")}: ${i.message}`).join("; ");
      throw new StratumError("VALIDATION_FAILED", `Config key "${key}" does not match the config schema (${detail}).`, {
        key,
        issues: parsed.error.issues.map((i) => ({ path: [key, ...i.path.map(String)].join("."), message: i.message })),
      });
    }
    return parsed.data as JsonValue;
  }

  async function setOne(tx: Db, tenant: TenantRow, key: string, input: unknown): Promise<ConfigEntry> {
    validate(KEY, key, "config key");
    const parsed = validate(SET_INPUT, input, `config input for "${key}"`);
    const value = checkValue(key, parsed.value);
    const size = Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
    const limit = deps.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    if (size > limit) {
      throw new StratumError(
        "CONFIG_VALUE_TOO_LARGE",
        `The value of config key "${key}" is ${size} bytes as JSON; the limit is ${limit}. Store large data in a table and keep a reference in config, or raise stratum({ config: { maxValueBytes } }).`,
        { key, size, limit },
      );
    }
    if (tenant.ancestors.length > 0) {
      const lockers = await tx.query<{ id: string; slug: string; name: string }>(
        `SELECT t.id::text AS id, t.slug, t.name
           FROM public.stratum_config c JOIN public.stratum_tenants t ON t.id = c.tenant_id
          WHERE c.key = $2 AND c.locked AND c.tenant_id = ANY($1::uuid[]) AND t.status <> 'archived'
          ORDER BY t.depth LIMIT 1`,
        [tenant.ancestors, key],
        { name: "stratum_config_locker" },
      );
      const locker = lockers[0];
      if (locker) {
        throw new StratumError(
          "CONFIG_LOCKED",
          `Config key "${key}" is locked by ancestor tenant ${locker.slug} (${locker.id}); descendants cannot override it. Unlock it on ${locker.slug} (setConfig with locked: false) or change it there.`,
          { key, tenantId: tenant.id, lockedBy: locker.id },
        );
      }
    }
    const existing = (
      await tx.query<ConfigRow>(`SELECT ${CONFIG_COLUMNS} FROM public.stratum_config WHERE tenant_id = $1::uuid AND key = $2 FOR UPDATE`, [tenant.id, key], {
        name: "stratum_config_existing",
      })
    )[0];
    const locked = parsed.locked ?? existing?.locked ?? false;
    const sensitive = parsed.sensitive ?? existing?.sensitive ?? false;
    const id = existing?.id ?? randomUUID();
    let plain: string | null = JSON.stringify(value);
    let sealed: string | null = null;
    if (sensitive) {
      if (!deps.cipher) {
        throw new StratumError(
          "ENCRYPTION_FAILED",
          `Config key "${key}" is sensitive but no cipher is configured; pass encryptionKey to stratum() to store sensitive values.`,
          { key },
        );
      }
      sealed = deps.cipher.encrypt(plain, cipherContext(tenant.id, id));
      plain = null;
    }
    const rows = await tx.query<ConfigRow>(
      `INSERT INTO public.stratum_config (id, tenant_id, key, value, locked, sensitive, encrypted_value)
       VALUES ($1::uuid, $2::uuid, $3, $4::jsonb, $5, $6, $7)
       ON CONFLICT (tenant_id, key) DO UPDATE
         SET value = EXCLUDED.value, locked = EXCLUDED.locked, sensitive = EXCLUDED.sensitive,
             encrypted_value = EXCLUDED.encrypted_value, version = stratum_config.version + 1, updated_at = now()
       RETURNING ${CONFIG_COLUMNS}`,
      [id, tenant.id, key, plain, locked, sensitive, sealed],
      { name: "stratum_config_upsert" },
    );
    const row = rows[0]!;
    await deps.audit.record(tx, {
      tenantId: tenant.id,
      action: "config.set",
      targetType: "config",
      targetId: key,
      before: existing ? auditView(existing) : undefined,
      after: auditView(row),
    });
    const entry = present(row, false);
    if (sensitive) {
      entry.value = value;
      delete entry.redacted;
    }
    return entry;
  }

  /** Runs a mutation: transaction, lock, event inside; local cache invalidation after commit. */
  async function mutate<R>(tenantId: string, fn: (tx: Db, tenant: TenantRow) => Promise<{ result: R; changed: boolean }>): Promise<R> {
    assertTenantId(tenantId);
    const event: ChangeEvent = { kind: "config", tenantId, subtree: true };
    const { result, changed } = await db.transaction(async (tx) => {
      const tenant = await lockTenant(tx, tenantId);
      const out = await fn(tx, tenant);
      if (out.changed) await deps.bus?.publish(tx, event);
      return out;
    });
    if (changed) cache?.invalidate(event);
    return result;
  }

  function resolveRaw(tenantId: string): Promise<RawResolution> {
    return resolveThroughCache<RawEntry, RawResolution>(resolveDb, cache, `config:${tenantId}`, RESOLVE_CONFIG_SQL, tenantId, (entries, chain) => ({
      tenantId,
      chain,
      entries,
    }));
  }

  function toResolved(raw: RawResolution, entry: RawEntry, includeSensitive: boolean): ResolvedConfigEntry {
    const out: ResolvedConfigEntry = {
      value: entry.value,
      inherited: entry.tenant_id !== raw.tenantId,
      locked: entry.locked,
      source_tenant_id: entry.tenant_id,
    };
    if (entry.sensitive) {
      out.sensitive = true;
      if (includeSensitive) {
        if (entry.encrypted_value !== null) out.value = decryptValue(entry.tenant_id, entry.id, entry.encrypted_value);
      } else {
        out.value = null;
        out.redacted = true;
      }
    }
    return out;
  }

  async function resolveConfig(tenantId: string, options: ReadOptions = {}): Promise<ResolvedConfig<T>> {
    const raw = await resolveRaw(tenantId);
    const out: Record<string, ResolvedConfigEntry> = {};
    for (const entry of raw.entries) out[entry.key] = toResolved(raw, entry, options.includeSensitive === true);
    return out as ResolvedConfig<T>;
  }

  return {
    cache,
    close() {
      detach?.();
    },

    async setConfig(tenantId, key, input) {
      const entry = await mutate(tenantId, async (tx, tenant) => ({ result: await setOne(tx, tenant, key, input), changed: true }));
      return entry as ConfigEntry<T[typeof key]>;
    },

    async setConfigBatch(tenantId, entries) {
      const list: Array<{ key: string; input: unknown }> = Array.isArray(entries)
        ? (entries as ReadonlyArray<{ key: string } & SetConfigInput<unknown>>).map((e) => {
            const { key, ...input } = e;
            return { key, input };
          })
        : Object.entries(entries as Record<string, SetConfigInput<unknown>>).map(([key, input]) => ({ key, input }));
      return mutate(tenantId, async (tx, tenant) => {
        const results: BatchResult[] = [];
        for (const { key, input } of list) {
          try {
            // A savepoint per key: a failing key rolls back only itself.
            const entry = await tx.transaction((sp) => setOne(sp, tenant, key, input));
            results.push({ key, ok: true, entry });
          } catch (error) {
            const code = isStratumError(error) ? error.code : "INTERNAL";
            const message = error instanceof Error ? error.message : String(error);
            results.push({ key, ok: false, error: { code, message } });
          }
        }
        const applied = results.filter((r) => r.ok).length;
        return { result: { results, applied, rejected: results.length - applied }, changed: applied > 0 };
      });
    },

    async deleteConfig(tenantId, key) {
      await mutate(tenantId, async (tx, tenant) => {
        const rows = await tx.query<ConfigRow>(`DELETE FROM public.stratum_config WHERE tenant_id = $1::uuid AND key = $2 RETURNING ${CONFIG_COLUMNS}`, [
          tenant.id,
          key,
        ]);
        const row = rows[0];
        if (!row) {
          throw new StratumError(
            "CONFIG_NOT_FOUND",
            `Tenant ${tenant.slug} has no own value for config key "${key}" (an inherited value can only be deleted where it is set).`,
            { tenantId, key },
          );
        }
        await deps.audit.record(tx, {
          tenantId: tenant.id,
          action: "config.delete",
          targetType: "config",
          targetId: key,
          before: auditView(row),
        });
        return { result: undefined, changed: true };
      });
    },

    async getConfig(tenantId, options = {}) {
      assertTenantId(tenantId);
      const rows = await db.query<ConfigRow & { exists: boolean }>(
        `SELECT c.id::text, c.tenant_id::text, c.key, c.value, c.locked, c.sensitive, c.encrypted_value, c.version,
                c.created_at, c.updated_at
           FROM public.stratum_tenants t LEFT JOIN public.stratum_config c ON c.tenant_id = t.id
          WHERE t.id = $1::uuid ORDER BY c.key`,
        [tenantId],
      );
      if (rows.length === 0) throw tenantNotFound(tenantId);
      const out: Record<string, ConfigEntry<unknown>> = {};
      for (const row of rows) if (row.id) out[row.key] = present(row, options.includeSensitive === true);
      return out;
    },

    resolveConfig,

    async resolveConfigKey(tenantId, key, options = {}) {
      const raw = await resolveRaw(tenantId);
      const entry = raw.entries.find((e) => e.key === key);
      return entry ? (toResolved(raw, entry, options.includeSensitive === true) as ResolvedConfigEntry<T[typeof key]>) : null;
    },

    async diffConfig(tenantA, tenantB, options = {}) {
      const [a, b] = await Promise.all([resolveRaw(tenantA), resolveRaw(tenantB)]);
      const include = options.includeSensitive === true;
      // Compare real values (decrypted when a cipher is present) even when the output is redacted.
      const comparable = (raw: RawResolution, e: RawEntry): string =>
        JSON.stringify(canonical(e.sensitive && e.encrypted_value !== null && deps.cipher ? decryptValue(e.tenant_id, e.id, e.encrypted_value) : e.value));
      const mapA = new Map(a.entries.map((e) => [e.key, e]));
      const mapB = new Map(b.entries.map((e) => [e.key, e]));
      const diff: ConfigDiff = { tenant_a: tenantA, tenant_b: tenantB, changed: {}, same: [] };
      for (const key of [...new Set([...mapA.keys(), ...mapB.keys()])].sort()) {
        const ea = mapA.get(key);
        const eb = mapB.get(key);
        if (ea && eb) {
          if (comparable(a, ea) === comparable(b, eb)) diff.same.push(key);
          else diff.changed[key] = { a: toResolved(a, ea, include), b: toResolved(b, eb, include), status: "different" };
        } else if (ea) diff.changed[key] = { a: toResolved(a, ea, include), b: null, status: "only_a" };
        else if (eb) diff.changed[key] = { a: null, b: toResolved(b, eb, include), status: "only_b" };
      }
      return diff;
    },
  };
}

function auditView(row: ConfigRow): Record<string, unknown> {
  return {
    key: row.key,
    value: row.sensitive ? "[redacted]" : row.value,
    locked: row.locked,
    sensitive: row.sensitive,
    version: row.version,
  };
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function makeCache(option: ConfigServiceDeps["cache"], bus: ChangeBus | undefined): ResolveCache | null {
  if (option instanceof ResolveCache) return option;
  if (option === false) return null;
  if (option === undefined) return bus ? new ResolveCache() : null;
  return new ResolveCache(option === true ? {} : option);
}
