#!/usr/bin/env node
// Runs the Prisma CLI without its native schema engine. Prisma 7 resolves (and would download)
// that binary even for `generate`, which never executes it; pointing PRISMA_SCHEMA_ENGINE_BINARY
// at an existing placeholder skips the download. Queries use WebAssembly, migrations stratum's
// own runner (src/migrate), so nothing here ever needs the real binary.
//
// `generate --if-stale` (the quick start) skips the run when generated/ was made from the same
// schema, generator sources and Prisma version: a stamp of their hash sits in generated/.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const ifStale = args.includes("--if-stale");
const prismaArgs = args.filter((a) => a !== "--if-stale");
const stampFile = join(root, "generated", ".inputs-hash");

/** Hash of everything `generate` reads: schema files, the generator's sources, Prisma's version. */
function inputsHash() {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${path}\0`).update(readFileSync(path));
    }
  };
  for (const dir of ["prisma/schema", "generators", "src/core"]) walk(join(root, dir));
  hash.update(readFileSync(join(root, "node_modules", "prisma", "package.json")));
  return hash.digest("hex");
}

if (ifStale && prismaArgs[0] === "generate" && existsSync(stampFile) && existsSync(join(root, "generated", "prisma", "client.ts"))) {
  if (readFileSync(stampFile, "utf8") === inputsHash()) {
    console.log("generated/ is up to date with prisma/schema (skipping prisma generate)");
    process.exit(0);
  }
}
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
const result = spawnSync(process.execPath, [join(root, "node_modules", "prisma", "build", "index.js"), ...prismaArgs], {
  cwd: root,
  env,
  stdio: "inherit",
});
if (result.status === 0 && prismaArgs[0] === "generate") writeFileSync(stampFile, inputsHash());
process.exit(result.status ?? 1);
