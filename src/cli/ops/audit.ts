/** `stratum-prisma audit tail <tenantId>`: the latest audit entries of a tenant's subtree. */
import type { Command } from "commander";
import { StratumError } from "../../core/errors.js";
import type { AuditEntryRecord } from "../../sdk/index.js";
import { print, sdkFor, withConnection, type OpsOptions } from "./connection.js";

const line = (e: AuditEntryRecord) =>
  `${String(e.created_at)}  ${e.action}  by ${e.actor.type}:${e.actor.id}  tenant=${e.tenant_id ?? "-"}${e.target_id ? `  ${e.target_type ?? "target"}=${e.target_id}` : ""}`;

const HELP = `
Examples:
  $ npx stratum-prisma audit tail <tenant id>
  $ npx stratum-prisma audit tail <tenant id> --limit 100 --action 'config.*' --json
`;

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("read the audit trail").addHelpText("after", HELP);
  withConnection(audit.command("tail <tenantId>").description("the latest entries of the tenant and its subtree, oldest first"))
    .option("--limit <n>", "how many (1-500, default 20)", "20")
    .option("--action <action>", "an action, or a prefix like config.*")
    .option("--actor <actor>", "an actor id, or <type>:<id>")
    .addHelpText("after", HELP)
    .action(async (tenantId: string, o: OpsOptions & { limit: string; action?: string; actor?: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new StratumError("VALIDATION_FAILED", `--limit must be 1-500, got ${JSON.stringify(o.limit)}.`);
      const page = await sdkFor(o).audit.list(tenantId, { limit, ...(o.action ? { action: o.action } : {}), ...(o.actor ? { actor: o.actor } : {}) });
      const entries = [...page.entries].reverse();
      print(o, entries, () => (entries.length ? entries.map(line) : ["(no entries)"]));
    });
}
