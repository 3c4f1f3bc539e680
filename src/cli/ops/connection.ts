/**
 * What the operator commands share: where the control plane is (--server / STRATUM_URL), the key
 * (--api-key / STRATUM_API_KEY), and --json output for scripts. They talk to a running control
 * plane over HTTP (through the SDK), so they work from any shell that can reach it.
 */
import type { Command } from "commander";
import { StratumError } from "../../core/errors.js";
import { createStratumSdk, type StratumSdk } from "../../sdk/index.js";

export interface OpsOptions {
  server?: string;
  apiKey?: string;
  json?: boolean;
}

/** Adds --server, --api-key and --json to a command. */
export function withConnection(command: Command): Command {
  return command
    .option("--server <url>", "the control plane's URL (default: STRATUM_URL, else http://127.0.0.1:3001)")
    .option("--api-key <key>", "an API key with the scopes the command needs (default: STRATUM_API_KEY)")
    .option("--json", "print JSON, for scripts");
}

export function serverUrl(options: OpsOptions): string {
  return (options.server ?? process.env.STRATUM_URL ?? "http://127.0.0.1:3001").replace(/\/+$/, "");
}

export function sdkFor(options: OpsOptions): StratumSdk {
  const apiKey = options.apiKey ?? process.env.STRATUM_API_KEY;
  if (!apiKey) throw new StratumError("VALIDATION_FAILED", "No API key: pass --api-key or set STRATUM_API_KEY.");
  return createStratumSdk({ controlPlaneUrl: serverUrl(options), apiKey });
}

/** Prints `value` as JSON with --json, else the lines `human` gives. */
export function print(options: OpsOptions, value: unknown, human: () => string[]): void {
  if (options.json) console.log(JSON.stringify(value, null, 2));
  else for (const line of human()) console.log(line);
}
