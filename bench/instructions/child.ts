/**
 * The measured side of bench:instructions (main.ts runs this file's bundle under callgrind): a
 * scratch database, one tenant of 25 users, one path's client; per query a warm-up, then the
 * measured calls between two files the driver waits for and writes (it switches callgrind's
 * instrumentation on and off around them).
 */
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/prisma/client.js";
import { stratumModels } from "../../generated/stratum/index.js";
import { stratum, stratumAdapter } from "../../src/index.js";
import { type Cleanups, scratchDb } from "../volume/setup.js";

export const QUERIES = ["findMany", "findUnique"] as const;
export type PathName = "plain" | "scoped";

/** Waits for a file the other side of the protocol writes. */
export async function waitFor(file: string, alive: () => boolean = () => true): Promise<void> {
  while (!existsSync(file)) {
    if (!alive()) throw new Error(`the measured process ended before writing ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runChild(path: PathName, dir: string, calls: number, warmup: number): Promise<void> {
  const cleanups: Cleanups = [];
  const scopeKey = randomBytes(32).toString("hex");
  try {
    const db = await scratchDb("instr", scopeKey, cleanups);
    const base = new PrismaClient({ adapter: stratumAdapter({ connectionString: db.appUrl, pool: { max: 4 } }) });
    const prisma = base.$extends(stratum({ models: stratumModels, scopeKey, admin: { connectionString: db.ownerUrl } }));
    const plainPool = new pg.Pool({ connectionString: db.superUrl, max: 4 });
    // The scratch database is dropped WITH (FORCE) at the end: its idle connections are terminated.
    plainPool.on("error", () => undefined);
    const plain = new PrismaClient({ adapter: new PrismaPg(plainPool) });
    cleanups.push(() => Promise.all([base.$disconnect(), plain.$disconnect()]));
    const tenant = await prisma.$stratum.createTenant({ name: "Instructions" });
    const users = await prisma.$tenant(tenant.id).user.createManyAndReturn({
      data: Array.from({ length: 25 }, (_, i) => ({ tenant_id: tenant.id, email: `u${i}@instructions.test` })),
    });
    const client = path === "plain" ? plain : prisma.$tenant(tenant.id);
    const run = {
      findMany: () => client.user.findMany({ where: { tenant_id: tenant.id }, take: 20 }),
      findUnique: (i: number) => client.user.findUnique({ where: { id: users[i % users.length]!.id } }),
    };
    for (const query of QUERIES) {
      for (let i = 0; i < warmup; i++) await run[query](i);
      writeFileSync(join(dir, `ready-${query}`), "");
      await waitFor(join(dir, `go-${query}`));
      for (let i = 0; i < calls; i++) await run[query](i);
      writeFileSync(join(dir, `done-${query}`), "");
      await waitFor(join(dir, `stopped-${query}`));
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}
