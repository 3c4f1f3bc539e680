/**
 * Smoke test of the example as a browser without JavaScript uses it, over HTTP, under
 * `next build` + `next start` and under `next dev`: the picker shows with no tenant (not a 500),
 * choosing a tenant through the form's server action answers with a redirect that sets the
 * cookie and the next page shows that tenant, switching works the same way, and the API answers.
 *
 * It creates a scratch database and a non-superuser owner role on OWNER_DATABASE_URL's server
 * (default postgresql://postgres@127.0.0.1:5432/postgres), runs `npm run setup` into it, and drops
 * both at the end. The app connects as stratum_app, which must be able to log in
 * (APP_ROLE_PASSWORD, default "stratum_app"). Run from examples/nextjs: `npm run smoke`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";

const here = fileURLToPath(new URL("..", import.meta.url));
const adminUrl = process.env.OWNER_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const name = `stratum_next_smoke_${randomBytes(4).toString("hex")}`;
const ownerPassword = randomBytes(12).toString("hex");

function urlFor(user: string, password: string, database: string): string {
  const url = new URL(adminUrl);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`smoke: ${what}`);
  console.log(`ok  ${what}`);
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

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: here, env, stdio: "inherit" });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

/** Starts `next <mode>` in its own process group and waits until it answers. */
async function startNext(mode: "start" | "dev", port: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn("npx", ["next", mode, "-p", String(port), "-H", "127.0.0.1"], { cwd: here, env, stdio: "inherit", detached: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next ${mode} exited with ${child.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/api/tickets`);
      return child;
    } catch {
      if (Date.now() > deadline) throw new Error(`next ${mode} did not answer within 10 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function stop(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/** The hidden `$ACTION_ID_…` field of the form whose button reads `button`. */
function actionField(html: string, button: string): string {
  const at = html.indexOf(`>${button}</button>`);
  const form = html.lastIndexOf("<form", at);
  const field = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(html.slice(form, at))?.[1];
  if (at < 0 || form < 0 || !field) throw new Error(`smoke: no server action form with a "${button}" button in the page`);
  return field;
}

async function postAction(base: string, field: string, values: Record<string, string>, cookie: string): Promise<Response> {
  const form = new FormData();
  form.set(field, "");
  for (const [k, v] of Object.entries(values)) form.set(k, v);
  // a browser sends its Origin with a form POST; Next checks it against the host
  return fetch(`${base}/`, { method: "POST", body: form, redirect: "manual", headers: { origin: base, ...(cookie ? { cookie } : {}) } });
}

function tenantCookie(response: Response): string {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("stratum_tenant="));
  return set ? (set.split(";")[0] ?? "") : "";
}

async function smoke(mode: "start" | "dev", env: NodeJS.ProcessEnv, tenants: Map<string, string>): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  console.log(`\n--- next ${mode} on ${base}`);
  const child = await startNext(mode, port, env);
  try {
    const picker = await fetch(`${base}/`);
    const pickerHtml = await picker.text();
    check(
      picker.status === 200 && pickerHtml.includes("Pick a tenant") && pickerHtml.includes("Client Alpha"),
      `next ${mode}: no tenant → 200 with the picker`,
    );

    const alpha = tenants.get("Client Alpha")!;
    const chosen = await postAction(base, actionField(pickerHtml, "Act as this tenant"), { tenant_id: alpha }, "");
    const cookie = tenantCookie(chosen);
    check(chosen.status === 303 && cookie === `stratum_tenant=${alpha}`, `next ${mode}: choosing Client Alpha answers 303 and sets the cookie`);
    const alphaHtml = await (await fetch(`${base}/`, { headers: { cookie } })).text();
    check(alphaHtml.includes("<h1>Client Alpha</h1>"), `next ${mode}: the next page shows Client Alpha`);

    const forgotten = await postAction(base, actionField(alphaHtml, "Switch tenant"), {}, cookie);
    check(
      forgotten.status === 303 && /stratum_tenant=;/.test(forgotten.headers.getSetCookie().join("\n")),
      `next ${mode}: "Switch tenant" answers 303 and clears the cookie`,
    );
    const againHtml = await (await fetch(`${base}/`)).text();
    const beta = tenants.get("Client Beta")!;
    const switched = await postAction(base, actionField(againHtml, "Act as this tenant"), { tenant_id: beta }, "");
    const betaHtml = await (await fetch(`${base}/`, { headers: { cookie: tenantCookie(switched) } })).text();
    check(betaHtml.includes("<h1>Client Beta</h1>"), `next ${mode}: after switching, the page shows Client Beta`);

    const api = await fetch(`${base}/api/tickets`, { headers: { "x-tenant-id": alpha } });
    check(api.status === 200 && Array.isArray(await api.json()), `next ${mode}: GET /api/tickets as Client Alpha → 200`);
    check((await fetch(`${base}/api/tickets`)).status === 400, `next ${mode}: GET /api/tickets with no tenant → 400`);
  } finally {
    stop(child);
  }
}

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
console.log(`smoke: creating scratch database and owner role ${name}; both are dropped at the end`);
await admin.query(`CREATE ROLE ${name} LOGIN CREATEROLE PASSWORD '${ownerPassword}'`);
await admin.query(`GRANT ${name} TO CURRENT_USER`);
await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
await admin.query(`REVOKE TEMPORARY ON DATABASE ${name} FROM PUBLIC`);
try {
  const appUrl = urlFor("stratum_app", process.env.APP_ROLE_PASSWORD ?? "stratum_app", name);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OWNER_DATABASE_URL: urlFor(name, ownerPassword, name),
    APP_DATABASE_URL: appUrl,
    DATABASE_URL: appUrl,
    STRATUM_SCOPE_KEY: randomBytes(32).toString("hex"),
    NEXT_TELEMETRY_DISABLED: "1",
  };
  delete env.STRATUM_CONTROL_PLANE_URL;
  await run("npm", ["run", "setup"], env);
  const owner = new pg.Client({ connectionString: urlFor(name, ownerPassword, name) });
  await owner.connect();
  const tenants = new Map((await owner.query<{ id: string; name: string }>("SELECT id, name FROM stratum_tenants")).rows.map((r) => [r.name, r.id]));
  await owner.end();

  await run("npx", ["next", "build"], env);
  await smoke("start", env, tenants);
  await smoke("dev", env, tenants);
  console.log("\nsmoke: all checks passed");
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${name}`);
  await admin.end();
}
