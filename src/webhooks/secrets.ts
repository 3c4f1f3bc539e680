/**
 * Webhook secrets: made once, shown once, sealed at rest with the field-encryption cipher (bound
 * to their webhook row) when one is configured. The registry seals, the delivery worker opens,
 * and the dispatcher claims only deliveries whose secret this process can open.
 */
import { randomBytes } from "node:crypto";
import type { RotationTarget } from "../crypto/index.js";
import { StratumError } from "../core/errors.js";
import type { CipherContext, ValueCipher } from "../core/ports.js";

/** Plaintext secrets carry this prefix; anything else in the column is a ValueCipher ciphertext. */
export const SECRET_PREFIX = "whsec_";

/**
 * Where webhook secrets are sealed (with the field-encryption keys, bound to their webhook row), so
 * `$stratum.rotateKeys()` re-encrypts them with the rest.
 */
export const WEBHOOK_SECRET_ROTATION_TARGET: RotationTarget = Object.freeze({
  table: "stratum_webhooks",
  // Named, so the rotation's SQL never resolves the table through a session's search_path.
  schema: "public",
  idColumn: "id",
  tenantColumn: "tenant_id",
  columns: Object.freeze([Object.freeze({ column: "secret", aadColumn: "secret" })]),
});

export interface SecretBox {
  newSecret(): string;
  seal(secret: string, tenantId: string, webhookId: string): string;
  open(stored: string, tenantId: string, webhookId: string): string;
  /**
   * Key versions this process can open secrets with. While processes with different keyrings run
   * side by side (a key rotation rolling out), each claims only the deliveries whose webhook secret
   * it can open; the others wait for a process that can, instead of failing until they are dead.
   */
  readonly heldVersions: number[];
}

/** SQL over `w` (stratum_webhooks): the secret is plaintext or sealed under a version in `$n`. */
export function openableBy(param: string): string {
  return `(w.secret NOT LIKE 'stratum:v%' OR substring(w.secret from '^stratum:v([0-9]+):')::int = ANY(${param}::int[]))`;
}

export function createSecretBox(cipher: ValueCipher | undefined): SecretBox {
  const context = (tenantId: string, webhookId: string): CipherContext => ({
    tenantId,
    table: "stratum_webhooks",
    column: "secret",
    rowId: webhookId,
  });
  return {
    newSecret: () => `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`,
    seal: (secret, tenantId, webhookId) => (cipher ? cipher.encrypt(secret, context(tenantId, webhookId)) : secret),
    open(stored, tenantId, webhookId) {
      if (stored.startsWith(SECRET_PREFIX)) return stored;
      if (!cipher) {
        throw new StratumError(
          "DECRYPTION_FAILED",
          `Webhook ${webhookId} has an encrypted secret but no cipher is configured; pass the cipher it was sealed with.`,
          { webhookId },
        );
      }
      return cipher.decrypt(stored, context(tenantId, webhookId));
    },
    heldVersions: [...((cipher as { keyring?: { versions?: readonly number[] } } | undefined)?.keyring?.versions ?? [])],
  };
}
