/**
 * Field encryption: AES-256-GCM (node:crypto), a random 96-bit nonce per value, versioned keys.
 *
 * Sealed format (ASCII, safe in any text column):
 *
 *     stratum:v<version>:<base64 nonce, 12 bytes>:<base64 ciphertext || 16-byte GCM tag>
 *
 * e.g. `stratum:v2:q1w2e3r4t5y6u7i8:Zm9vYmFy…`. Base64 is the standard alphabet with padding.
 *
 * Associated data: the canonical JSON (keys sorted, no spaces) of the cipher context,
 * `{"column":…,"rowId":…,"table":…,"tenantId":…}`. It is authenticated, not stored: a ciphertext
 * copied to another row, tenant, table or column fails with DECRYPTION_FAILED. An unknown
 * version fails with KEY_NOT_FOUND.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { StratumError } from "../core/errors.js";
import type { CipherContext, ValueCipher } from "../core/ports.js";
import type { Keyring } from "./keyring.js";

export const SEALED_PREFIX = "stratum:v";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_RE = /^stratum:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]{16}):([A-Za-z0-9+/]+={0,2})$/;

export interface FieldCipher extends ValueCipher {
  readonly keyring: Keyring;
  /** True when `value` looks like a sealed value (any version). */
  isSealed(value: unknown): value is string;
  /** Key version of a sealed value, or null when `value` is not sealed. */
  versionOf(value: string): number | null;
  /** True when a sealed value is under an older key than the keyring's current one. */
  needsRotation(value: string): boolean;
  /** Decrypts under whatever version sealed it and seals again under the current key. */
  reencrypt(sealed: string, context: CipherContext): string;
}

/** Canonical JSON of the context: the AAD. Exported so other implementations can match it. */
export function canonicalAad(context: CipherContext): string {
  for (const k of ["tenantId", "table", "column", "rowId"] as const) {
    const v = context?.[k];
    if (typeof v !== "string" || v.length === 0) {
      throw new StratumError("VALIDATION_FAILED", `Cipher context needs a non-empty string ${k}.`, { field: k });
    }
  }
  return JSON.stringify({ column: context.column, rowId: context.rowId, table: context.table, tenantId: context.tenantId });
}

export function createFieldCipher(keyring: Keyring): FieldCipher {
  const seal = (version: number, plaintext: string, context: CipherContext): string => {
    if (typeof plaintext !== "string") {
      throw new StratumError("ENCRYPTION_FAILED", "Only strings can be encrypted; serialize other values first.");
    }
    const aad = Buffer.from(canonicalAad(context), "utf8");
    const key = keyring.key(version);
    const nonce = randomBytes(NONCE_BYTES);
    try {
      const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
      c.setAAD(aad);
      const body = Buffer.concat([c.update(plaintext, "utf8"), c.final(), c.getAuthTag()]);
      return `${SEALED_PREFIX}${version}:${nonce.toString("base64")}:${body.toString("base64")}`;
    } catch (error) {
      throw new StratumError("ENCRYPTION_FAILED", "Encryption failed.", undefined, { cause: error });
    }
  };

  const open = (sealed: string, context: CipherContext): string => {
    const m = typeof sealed === "string" ? SEALED_RE.exec(sealed) : null;
    if (!m) throw new StratumError("DECRYPTION_FAILED", "Value is not in the sealed format stratum:v<n>:<nonce>:<ciphertext>.");
    const version = Number(m[1]);
    const aad = Buffer.from(canonicalAad(context), "utf8");
    const key = keyring.key(version); // KEY_NOT_FOUND for unknown versions
    const nonce = Buffer.from(m[2]!, "base64");
    const body = Buffer.from(m[3]!, "base64");
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
      throw new StratumError("DECRYPTION_FAILED", "Sealed value is truncated.");
    }
    try {
      const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
      d.setAAD(aad);
      d.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([d.update(body.subarray(0, body.length - TAG_BYTES)), d.final()]).toString("utf8");
    } catch (error) {
      // Wrong key, tampered bytes, or a context (tenant/table/column/row) other than the one sealed.
      throw new StratumError(
        "DECRYPTION_FAILED",
        "Decryption failed: the value was tampered with or belongs to another row, tenant, table or column.",
        { version, table: context.table, column: context.column },
        { cause: error },
      );
    }
  };

  const versionOf = (value: string): number | null => {
    const m = SEALED_RE.exec(value);
    return m ? Number(m[1]) : null;
  };

  return Object.freeze({
    keyring,
    encrypt: (plaintext: string, context: CipherContext) => seal(keyring.current, plaintext, context),
    decrypt: open,
    isSealed: (value: unknown): value is string => typeof value === "string" && SEALED_RE.test(value),
    versionOf,
    needsRotation(value: string) {
      const v = versionOf(value);
      return v !== null && v !== keyring.current;
    },
    reencrypt: (sealed: string, context: CipherContext) => seal(keyring.current, open(sealed, context), context),
  });
}
