/** `stratum-prisma keys create|rotate|revoke|list`: API keys through the control plane. */
import type { Command } from "commander";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../apikeys/scopes.js";
import { StratumError } from "../../core/errors.js";
import type { ApiKeyRecord } from "../../sdk/index.js";
import { print, sdkFor, withConnection, type OpsOptions } from "./connection.js";

function scopesOf(value: string): ApiKeyScope[] {
  const scopes = [
    ...new Set(
      value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length || !scopes.length) {
    throw new StratumError("VALIDATION_FAILED", `Unknown scope(s) ${unknown.join(", ") || "(none given)"}; use: ${API_KEY_SCOPES.join(", ")}.`);
  }
  return scopes as ApiKeyScope[];
}

function whole(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new StratumError("VALIDATION_FAILED", `${what} must be a whole number, got ${JSON.stringify(value)}.`);
  return n;
}

const line = (k: ApiKeyRecord) =>
  `${k.id}  ${k.name}  [${k.scopes.join(",")}]  tenant=${k.tenant_id ?? "-"}  last_used=${k.last_used_at ?? "never"}  expires=${k.expires_at ?? "never"}${k.revoked_at ? "  REVOKED" : ""}`;

const HELP = `
Examples:
  $ npx stratum-prisma keys create --name ci --scopes tenants:read,config:read --expires-at 2027-06-30T00:00:00Z
  $ npx stratum-prisma keys create --name msp-admin --scopes '*' --tenant <tenant id> --rate-limit 120
  $ npx stratum-prisma keys list --json
  $ npx stratum-prisma keys rotate <key id> --grace 600
  $ npx stratum-prisma keys revoke <key id>
`;

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("create, rotate, revoke and list API keys").addHelpText("after", HELP);

  withConnection(keys.command("create").description("create a key; prints its plaintext once"))
    .requiredOption("--name <name>", "a label for humans")
    .requiredOption("--scopes <list>", `comma-separated: ${API_KEY_SCOPES.join(", ")}`)
    .option("--tenant <id>", "limit the key to this tenant's subtree")
    .option("--expires-at <iso>", "when the key stops working")
    .option("--rate-limit <perMinute>", "requests per minute for this key")
    .option("--test", "an sk_test_ key")
    .addHelpText("after", HELP)
    .action(async (o: OpsOptions & { name: string; scopes: string; tenant?: string; expiresAt?: string; rateLimit?: string; test?: boolean }) => {
      const created = await sdkFor(o).apiKeys.create({
        name: o.name,
        scopes: scopesOf(o.scopes),
        ...(o.tenant ? { tenant_id: o.tenant } : {}),
        ...(o.expiresAt ? { expires_at: o.expiresAt } : {}),
        ...(o.rateLimit ? { rate_limit: whole(o.rateLimit, "--rate-limit") } : {}),
        environment: o.test ? "test" : "live",
      });
      print(o, created, () => [line(created), `key: ${created.key}`, "(shown once: store it now)"]);
    });

  withConnection(keys.command("rotate <keyId>").description("a new key now; the old one keeps working for --grace seconds"))
    .option("--grace <seconds>", "how long the old key keeps working (default 3600; 0: stop it now)")
    .option("--test", "the new key is an sk_test_ key")
    .addHelpText("after", HELP)
    .action(async (keyId: string, o: OpsOptions & { grace?: string; test?: boolean }) => {
      const rotated = await sdkFor(o).apiKeys.rotate(keyId, {
        ...(o.grace !== undefined ? { grace_seconds: whole(o.grace, "--grace") } : {}),
        environment: o.test ? "test" : "live",
      });
      print(o, rotated, () => [line(rotated.key), `key: ${rotated.key.key}`, `old key ${rotated.previous.id} works until ${rotated.previous.expires_at}`]);
    });

  withConnection(keys.command("revoke <keyId>").description("stop a key at once"))
    .addHelpText("after", HELP)
    .action(async (keyId: string, o: OpsOptions) => {
      const revoked = await sdkFor(o).apiKeys.revoke(keyId);
      print(o, revoked, () => [line(revoked)]);
    });

  withConnection(keys.command("list").description("live keys (never their secrets)"))
    .option("--tenant <id>", "keys of this tenant")
    .option("--all", "also revoked and expired keys")
    .option("--dormant <days>", "only live keys unused for more than this many days")
    .addHelpText("after", HELP)
    .action(async (o: OpsOptions & { tenant?: string; all?: boolean; dormant?: string }) => {
      const s = sdkFor(o);
      const list = o.dormant
        ? await s.apiKeys.dormant({ days: whole(o.dormant, "--dormant"), ...(o.tenant ? { tenant_id: o.tenant } : {}) })
        : await s.apiKeys.list({ ...(o.tenant ? { tenant_id: o.tenant } : {}), ...(o.all ? { include_revoked: true } : {}) });
      print(o, list, () => (list.length ? list.map(line) : ["(no keys)"]));
    });
}
