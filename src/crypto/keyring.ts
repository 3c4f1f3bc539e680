/**
 * Versioned AES-256 keys. Versions are positive integers; the sealed format names the version a
 * value was encrypted with, so old versions stay readable until `rotateKeys` has moved every value
 * to the current one. Key bytes never leave this closure: no getter returns them, and the keyring
 * prints as `[Keyring v1,v2 current=v2]`.
 */
import { StratumError } from "../core/errors.js";

export interface Keyring {
  /** Version new values are encrypted with (the highest unless `current` was given). */
  readonly current: number;
  /** Every version held, ascending. */
  readonly versions: readonly number[];
  has(version: number): boolean;
  /** @internal used by the cipher: the raw 32-byte key. Throws KEY_NOT_FOUND. */
  key(version: number): Buffer;
}

export interface KeyringOptions {
  /** `{ 1: "<base64 32 bytes>", v2: "…" }`: the version as a number or `v<number>`. */
  keys: Readonly<Record<string | number, string>>;
  /** Defaults to the highest version. */
  current?: number | string;
}

function parseVersion(raw: string | number): number {
  const text = String(raw).trim();
  const m = /^v?([1-9][0-9]{0,8})$/.exec(text);
  if (!m) {
    throw new StratumError("VALIDATION_FAILED", `Key version ${JSON.stringify(text)} is not a positive integer like 1 or v1.`);
  }
  return Number(m[1]);
}

function parseKey(version: number, base64: string): Buffer {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new StratumError("VALIDATION_FAILED", `Key v${version} is not base64.`);
  }
  const key = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key.length !== 32) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `Key v${version} decodes to ${key.length} bytes; AES-256 needs 32. Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
  return key;
}

export function createKeyring(options: KeyringOptions): Keyring {
  const keys = new Map<number, Buffer>();
  for (const [rawVersion, value] of Object.entries(options.keys)) {
    const version = parseVersion(rawVersion);
    if (keys.has(version)) throw new StratumError("VALIDATION_FAILED", `Key version v${version} is given twice.`);
    keys.set(version, parseKey(version, value));
  }
  if (keys.size === 0) throw new StratumError("VALIDATION_FAILED", "A keyring needs at least one key.");
  const versions = [...keys.keys()].sort((a, b) => a - b);
  const current = options.current === undefined ? versions[versions.length - 1]! : parseVersion(options.current);
  if (!keys.has(current)) throw new StratumError("KEY_NOT_FOUND", `The current key version v${current} is not in the keyring.`, { version: current });
  const ring: Keyring = {
    current,
    versions: Object.freeze(versions),
    has: (version) => keys.has(version),
    key(version) {
      const key = keys.get(version);
      if (!key) throw new StratumError("KEY_NOT_FOUND", `No key for version v${version} in the keyring.`, { version });
      return key;
    },
  };
  const label = `[Keyring ${versions.map((v) => `v${v}`).join(",")} current=v${current}]`;
  Object.defineProperties(ring, {
    toString: { value: () => label },
    toJSON: { value: () => label },
    [Symbol.for("nodejs.util.inspect.custom")]: { value: () => label },
  });
  return Object.freeze(ring);
}

/**
 * From the environment: `STRATUM_ENCRYPTION_KEYS="v1:<base64>,v2:<base64>"` (current = highest,
 * or `STRATUM_ENCRYPTION_KEY_CURRENT`), else `STRATUM_ENCRYPTION_KEY=<base64>` as v1.
 * Returns null when neither is set.
 */
export function keyringFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Keyring | null {
  const list = env["STRATUM_ENCRYPTION_KEYS"]?.trim();
  const single = env["STRATUM_ENCRYPTION_KEY"]?.trim();
  const current = env["STRATUM_ENCRYPTION_KEY_CURRENT"]?.trim() || undefined;
  if (list) {
    const keys: Record<string, string> = {};
    for (const part of list
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const i = part.indexOf(":");
      if (i <= 0) throw new StratumError("VALIDATION_FAILED", "STRATUM_ENCRYPTION_KEYS must look like v1:<base64>,v2:<base64>.");
      keys[part.slice(0, i)] = part.slice(i + 1);
    }
    return createKeyring(current === undefined ? { keys } : { keys, current });
  }
  if (single) return createKeyring({ keys: { 1: single } });
  return null;
}
