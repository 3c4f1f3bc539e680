/**
 * The package as a user gets it: `npm run build` + `npm pack`, the tarball installed into a new
 * project with its own package.json, then every command of the README's "Use it in your project"
 * block run as written (only the server's host and ports are the test's own), with
 * PRISMA_SCHEMA_ENGINE_BINARY unset: init → model → migrate new → generate → migrate → app role
 * login → doctor → a scoped query from the README's app.ts → serve → a SCHEMA tenant over HTTP.
 * Then what the block does not show: --version, a CommonJS require(), and serve's refusals.
 *
 * Minutes, not seconds (a TypeScript build, two npm installs, a PostgreSQL cluster of its own):
 * it lives under test/stress, run by `npm run test:stress`. It prints the installed size.
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScratchPostgres, type ScratchPostgres } from "../package/scratch-postgres.js";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));

/** The fenced block of `lang` that follows `marker` in the README section `heading`. */
export function readmeBlock(readme: string, heading: string, lang: string, marker?: string): string {
  const start = readme.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = readme.indexOf("\n## ", start + 4);
  let section = readme.slice(start, end < 0 ? undefined : end);
  if (marker !== undefined) {
    const at = section.indexOf(marker);
    if (at < 0) throw new Error(`README section "${heading}" has no ${JSON.stringify(marker)}`);
    section = section.slice(at);
  }
  const block = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(section);
  if (!block?.[1]) throw new Error(`README section "${heading}" has no \`\`\`${lang} block`);
  return block[1];
}

/** Commands of a shell block: comments and blank lines dropped. */
export function commandsOf(block: string): string[] {
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#\s.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Kilobytes under `dir` (du's figure: what the disk holds). */
async function sizeKb(dir: string): Promise<number> {
  const { stdout } = await exec("du", ["-sk", dir]);
  return Number(stdout.split(/\s/)[0]);
}

/** The package's own dependency closure in node_modules, peers excluded: what stratum adds to a Prisma app. */
async function ownClosureKb(project: string): Promise<number> {
  const nm = join(project, "node_modules");
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const dir = join(nm, name);
    try {
      statSync(join(dir, "package.json"));
    } catch {
      return; // optional, or nested under its parent (counted with it)
    }
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  visit("stratum-prisma");
  let total = 0;
  for (const name of seen) total += await sizeKb(join(nm, name));
  return total;
}

/**
 * Runs a bash script in its own process group. When bash exits, what is left of the group (a
 * server started in the background) is ended, so the pipes it holds close and the output is whole.
 */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    let status = 1;
    child.on("exit", (code) => {
      status = code ?? 1;
      try {
        if (child.pid) process.kill(-child.pid, "SIGTERM");
      } catch {
        // the group is gone already
      }
    });
    // once the group is gone its pipes close: everything written has been read
    child.on("close", () => resolve({ code: status, output }));
  });
}

const PACKAGE_JSON = `{ "name": "myapp", "private": true, "type": "module" }\n`;
const SCHEMA = `generator client {
  provider = "prisma-client"
  output   = "../../generated/prisma"
}

datasource db {
  provider = "postgresql"
}
`;
const PRISMA_CONFIG = `import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
`;

/** Step 6: the SDK from the tarball, with its middleware in front of a plain node:http server. */
const SDK_CHECK = `import http from "node:http";
import { PrismaClient } from "./generated/prisma/client.js";
import { stratumModels } from "./generated/stratum/index.js";
import { stratum, stratumAdapter } from "stratum-prisma";
import { createStratumSdk } from "stratum-prisma/sdk";

const s = createStratumSdk({ controlPlaneUrl: process.env.CP_URL!, apiKey: "sk_test_bootstrap" });
const prisma = new PrismaClient({ adapter: stratumAdapter({ connectionString: process.env.DATABASE_URL! }) }).$extends(
  stratum({ models: stratumModels, scopeKey: process.env.STRATUM_SCOPE_KEY! }),
);
const tenant = await s.tenants.create({ name: "Sdk Co", slug: "sdk_co" });
await s.config.set(tenant.id, "plan", { value: "gold" });
await prisma.$tenant(tenant.id).note.create({ data: { tenant_id: tenant.id, title: "via the sdk" } });
const middleware = s.middleware();
const server = http.createServer((req, res) =>
  middleware(req, res, async (error) => {
    if (error) return res.writeHead(500).end(String(error));
    const notes = await prisma.$tenant().note.findMany({ select: { title: true } });
    const ctx = (req as unknown as { tenant: { resolved_config: Record<string, { value: unknown }> } }).tenant;
    res.end(JSON.stringify({ plan: ctx.resolved_config.plan?.value, notes }));
  }),
);
await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
const url = \`http://127.0.0.1:\${(server.address() as { port: number }).port}/\`;
const answer = await (await fetch(url, { headers: { "X-Tenant-ID": tenant.id } })).text();
const refused = await fetch(url);
console.log(\`sdk: \${answer} refused \${refused.status}\`);
server.close();
// A subtree spanning two homes (the shared tables and a client's schema): read on the adapter's subtree connections.
const msp = await s.tenants.create({ name: "Sdk Msp", slug: "sdk_msp" });
const client = await s.tenants.create({ name: "Sdk Client", slug: "sdk_client", parent_id: msp.id, isolation_strategy: "SCHEMA" });
for (const t of [msp, client]) await prisma.$tenant(t.id).note.create({ data: { tenant_id: t.id, title: \`note of \${t.slug}\` } });
const across = await prisma.$tenant(msp.id, { descendants: true }).note.findMany({ select: { title: true }, orderBy: { title: "asc" } });
console.log(\`descendants: \${JSON.stringify(across)}\`);
await prisma.$stratum.close();
await prisma.$disconnect();
`;

let pg: ScratchPostgres | undefined;
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "stratum-tarball-"));
});
afterAll(async () => {
  await pg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball in a new project", () => {
  it(
    "runs every command of the README's 'Use it in your project'",
    async () => {
      const started = Date.now();
      const lap = (what: string) => console.log(`[tarball] ${what} at ${Math.round((Date.now() - started) / 1000)} s`);

      // 1. build + pack, as a release would (STRATUM_TARBALL: test a tarball packed already)
      let tarball = process.env.STRATUM_TARBALL ?? "";
      if (tarball === "") {
        await exec("npm", ["run", "build"], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
        const packed = await exec("npm", ["pack", "--pack-destination", work], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
        tarball = join(work, packed.stdout.trim().split("\n").pop() ?? "");
      }
      lap(`built and packed ${basename(tarball)}`);

      // 2. a Prisma 7 project as the README describes its starting point
      const project = join(work, "myapp");
      mkdirSync(join(project, "prisma", "schema"), { recursive: true });
      writeFileSync(join(project, "package.json"), PACKAGE_JSON);
      writeFileSync(join(project, "prisma", "schema", "schema.prisma"), SCHEMA);
      writeFileSync(join(project, "prisma.config.ts"), PRISMA_CONFIG);
      copyFileSync(tarball, join(project, basename(tarball)));
      const readme = readFileSync(join(repo, "README.md"), "utf8");
      writeFileSync(join(project, "app.ts"), readmeBlock(readme, "Use it in your project", "ts", "`app.ts` (ESM):"));
      writeFileSync(join(project, "app.cts"), readmeBlock(readme, "Use it in your project", "ts", "`app.cts` (CommonJS):"));

      pg = await startScratchPostgres();
      const servePort = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PGHOST: "127.0.0.1",
        PGPORT: String(pg.port),
        PGUSER: "postgres",
        PORT: String(servePort),
        NO_COLOR: "1",
      };
      for (const name of ["PRISMA_SCHEMA_ENGINE_BINARY", "DATABASE_URL", "STRATUM_OWNER_URL", "STRATUM_SCOPE_KEY", "STRATUM_ENCRYPTION_KEY", "HOST"])
        delete env[name];

      const commands = commandsOf(readmeBlock(readme, "Use it in your project", "sh")).map((c) =>
        c.replaceAll("localhost:5432", `127.0.0.1:${pg!.port}`).replaceAll("localhost:3001", `127.0.0.1:${servePort}`),
      );
      expect(commands[0]).toBe(`npm install ./${basename(tarball)}`);

      // 3. the library alone: what a user who only queries installs
      const install = await bash(`set -euo pipefail\n${commands[0]} --no-audit --no-fund`, project, env);
      expect(install.code, install.output).toBe(0);
      const libraryKb = await sizeKb(join(project, "node_modules"));
      const ownKb = await ownClosureKb(project);
      console.log(
        `[tarball] node_modules after \`${commands[0]}\`: ${(libraryKb / 1024).toFixed(0)} MB, of which stratum-prisma and its own dependencies ${(ownKb / 1024).toFixed(1)} MB (the rest: prisma and @prisma/client, the peers)`,
      );
      lap("installed the library");

      // 4. the rest, in one shell (the exports carry over); a command ending in & runs in the
      //    background and the next one waits until the server answers.
      const script = ["set -euo pipefail"];
      for (const command of commands.slice(1)) {
        if (command.endsWith("&")) {
          script.push(command, `for _ in $(seq 1 600); do curl -sf 127.0.0.1:${servePort}/health >/dev/null && break; kill -0 $! || exit 1; sleep 0.2; done`);
        } else {
          script.push(command.startsWith("npm install") ? `${command} --no-audit --no-fund` : command);
        }
      }
      const run = await bash(script.join("\n"), project, env);
      expect(run.code, run.output).toBe(0);
      const fullKb = await sizeKb(join(project, "node_modules"));
      console.log(`[tarball] node_modules with tsx and the server's optional peers: ${(fullKb / 1024).toFixed(0)} MB`);
      lap("ran the README's commands");

      expect(run.output).toContain("wrote prisma/migrations/");
      expect(run.output).toMatch(/renamed|_stratum_security/);
      expect(run.output).toContain("wrote STRATUM_SCOPE_KEY to .env");
      expect(readFileSync(join(project, ".env"), "utf8")).toMatch(/^STRATUM_SCOPE_KEY=[0-9a-f]{64}$/m);
      expect(run.output).toContain("ok: stratum_app cannot bypass tenant isolation");
      expect(run.output).toContain("[ { title: 'hello from Alpha' } ]");
      expect(run.output).toContain("[ 'Client Alpha' ]");
      expect(run.output).toMatch(/"slug":"acmesec"[^}]*"isolation_strategy":"SCHEMA"/);
      // the security migration sorts after the table migration it secures
      const migrations = readdirSync(join(project, "prisma", "migrations"))
        .filter((n) => /^\d{14}_/.test(n))
        .sort();
      expect(migrations.map((n) => n.replace(/^\d{14}_/, ""))).toEqual(["init", "stratum_security"]);

      // 5. what the block does not show
      const cli = (args: string, extraEnv: NodeJS.ProcessEnv = {}) => bash(`npx stratum-prisma ${args}`, project, { ...env, ...extraEnv });
      const version = await cli("--version");
      expect(version.output.trim()).toBe((JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }).version);
      const superuser = await cli("serve", { DATABASE_URL: `postgresql://postgres@127.0.0.1:${pg.port}/myapp` });
      expect(superuser.code).toBe(1);
      expect(superuser.output).toContain("Role postgres is a superuser");
      const missing = await cli("serve", { DATABASE_URL: `postgresql://stratum_app:app-secret@127.0.0.1:${pg.port}/no_such_db` });
      expect(missing.code).toBe(1);
      expect(missing.output).toContain('Database "no_such_db" does not exist');
      const help = await cli("serve --help");
      expect(help.output).toContain("--owner-url");
      expect(help.output).toContain("STRATUM_ENCRYPTION_KEY");
      // a CommonJS app: require() of the ESM entry (Node >= 20.19), and import()
      writeFileSync(
        join(project, "check.cjs"),
        'const s = require("stratum-prisma");\nimport("stratum-prisma").then((m) => console.log(typeof s.stratum, typeof m.createRateLimiter, typeof s.verifyWebhookSignature));\n',
      );
      const cjs = await bash("node check.cjs", project, env);
      expect(cjs.output).toContain("function function function");

      // 6. the SDK against `serve`, and its middleware in front of the app's own client: the
      //    tenant the middleware sets is the one `prisma.$tenant()` finds (one context module
      //    shared by the package's entry points, as installed).
      writeFileSync(join(project, "sdk-check.ts"), SDK_CHECK);
      const urls = {
        DATABASE_URL: `postgresql://stratum_app:app-secret@127.0.0.1:${pg.port}/myapp`,
        STRATUM_OWNER_URL: `postgresql://myapp_owner:owner-secret@127.0.0.1:${pg.port}/myapp`,
        CP_URL: `http://127.0.0.1:${servePort}`,
      };
      const sdk = await bash(
        [
          "set -euo pipefail",
          `npx stratum-prisma serve --owner-url "$STRATUM_OWNER_URL" --bootstrap-key sk_test_bootstrap &`,
          `for _ in $(seq 1 600); do curl -sf 127.0.0.1:${servePort}/health >/dev/null && break; kill -0 $! || exit 1; sleep 0.2; done`,
          "npx tsx --env-file=.env sdk-check.ts",
        ].join("\n"),
        project,
        { ...env, ...urls },
      );
      expect(sdk.code, sdk.output).toBe(0);
      expect(sdk.output).toContain('sdk: {"plan":"gold","notes":[{"title":"via the sdk"}]} refused 400');
      expect(sdk.output).toContain('descendants: [{"title":"note of sdk_client"},{"title":"note of sdk_msp"}]');
      lap("done");
    },
    30 * 60_000,
  );
});
