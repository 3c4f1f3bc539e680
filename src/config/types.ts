import type { z } from "zod";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One resolved key, as the seeds show it. */
export interface ResolvedConfigEntry<V = JsonValue> {
  /** The effective value; `null` when redacted (sensitive and not asked for). */
  value: V | null;
  /** False when the value is the tenant's own. */
  inherited: boolean;
  /** True when an ancestor (or the tenant itself) locked the key. */
  locked: boolean;
  source_tenant_id: string;
  /** Present (true) only on sensitive keys. */
  sensitive?: true;
  /** Present (true) when the value of a sensitive key was withheld. */
  redacted?: true;
}

/** The schema type accepted for typed config: a zod object. */
export type ConfigSchema = z.ZodObject<z.ZodRawShape>;

/** Resolved config: typed by the schema's output when one is given. */
export type ResolvedConfig<T = Record<string, JsonValue>> = { [K in keyof T]?: ResolvedConfigEntry<T[K]> } & Record<
  string,
  ResolvedConfigEntry<unknown> | undefined
>;

/** A tenant's own row (getConfig). */
export interface ConfigEntry<V = JsonValue> {
  id: string;
  tenant_id: string;
  key: string;
  value: V | null;
  locked: boolean;
  sensitive: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
  redacted?: true;
}

export interface SetConfigInput<V = JsonValue> {
  value: V;
  /** Descendants inherit the value and cannot override it. Omitted on update: unchanged. */
  locked?: boolean;
  /** Stored encrypted (AES-256-GCM via the cipher); redacted unless asked for. Omitted on update: unchanged. */
  sensitive?: boolean;
}

export interface ReadOptions {
  /** Decrypt sensitive values (callers that are allowed to see secrets). Default false. */
  includeSensitive?: boolean;
}

export type BatchResult = { key: string; ok: true; entry: ConfigEntry } | { key: string; ok: false; error: { code: string; message: string } };

export interface BatchOutcome {
  results: BatchResult[];
  applied: number;
  rejected: number;
}

export interface ConfigDiffEntry {
  a: ResolvedConfigEntry<unknown> | null;
  b: ResolvedConfigEntry<unknown> | null;
  status: "only_a" | "only_b" | "different";
}

export interface ConfigDiff {
  tenant_a: string;
  tenant_b: string;
  /** Keys whose effective value differs (or exists on one side only). */
  changed: Record<string, ConfigDiffEntry>;
  /** Keys with the same effective value on both sides. */
  same: string[];
}
