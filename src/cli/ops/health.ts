/** `stratum-prisma health`: what GET /ready checks, from the shell; exit 1 when not ready. */
import type { Command } from "commander";
import { StratumError } from "../../core/errors.js";
import { print, serverUrl, withConnection, type OpsOptions } from "./connection.js";

interface ReadyReport {
  status: "ready" | "not_ready";
  checks: Array<{ name: string; ok: boolean; message: string }>;
}

export async function health(options: OpsOptions): Promise<ReadyReport> {
  const url = `${serverUrl(options)}/ready`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new StratumError(
      "VALIDATION_FAILED",
      `The control plane at ${serverUrl(options)} does not answer (${(error as Error).message}). Is \`stratum-prisma serve\` running? Pass --server or set STRATUM_URL.`,
    );
  }
  if (response.status !== 200 && response.status !== 503) {
    throw new StratumError("VALIDATION_FAILED", `${url} answered ${response.status}: is this a stratum control plane?`);
  }
  return (await response.json()) as ReadyReport;
}

const HELP = `
Examples:
  $ npx stratum-prisma health
  $ npx stratum-prisma health --server https://control.example.com --json
`;

export function registerHealth(program: Command): void {
  withConnection(program.command("health").description("check the control plane's readiness: database, migrations, scope key, connection, Redis"))
    .addHelpText("after", HELP)
    .action(async (options: OpsOptions) => {
      const report = await health(options);
      print(options, report, () => [...report.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.message}`), report.status]);
      if (report.status !== "ready")
        throw new StratumError(
          "VALIDATION_FAILED",
          `not ready: ${report.checks
            .filter((c) => !c.ok)
            .map((c) => c.name)
            .join(", ")}.`,
        );
    });
}
