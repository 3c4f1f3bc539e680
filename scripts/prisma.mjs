#!/usr/bin/env node
// Runs the Prisma CLI without its native schema engine. Prisma 7 resolves (and would download)
// that binary even for `generate`, which never executes it; pointing PRISMA_SCHEMA_ENGINE_BINARY
// at an existing placeholder skips the download. Queries use WebAssembly, migrations stratum's
// own runner (src/migrate), so nothing here ever needs the real binary.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = join(root, "node_modules", ".cache", "stratum", "schema-engine-placeholder");
  if (!existsSync(placeholder)) {
    mkdirSync(dirname(placeholder), { recursive: true });
    writeFileSync(placeholder, "#!/bin/sh\necho 'stratum: the native schema engine is not installed; use `stratum migrate`' >&2\nexit 1\n", { mode: 0o755 });
  }
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const result = spawnSync(process.execPath, [join(root, "node_modules", "prisma", "build", "index.js"), ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
