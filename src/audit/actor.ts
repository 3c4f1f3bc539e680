/**
 * Who is acting, carried through async calls with AsyncLocalStorage. The server / SDK middleware
 * wraps each request in `runWithActor`; services read `currentActor()` when they write audit rows.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { StratumError } from "../core/errors.js";
import type { Actor } from "../core/ports.js";

export const SYSTEM_ACTOR: Readonly<Actor> = Object.freeze({ id: "system", type: "system" });

const storage = new AsyncLocalStorage<Actor>();

/** Runs `fn` with `actor` as the current actor for everything it awaits. */
export function runWithActor<T>(actor: Actor, fn: () => T): T {
  if (!actor || typeof actor.id !== "string" || actor.id.length === 0) {
    throw new StratumError("VALIDATION_FAILED", "runWithActor: actor.id must be a non-empty string", { field: "id" });
  }
  return storage.run({ ...actor }, () => {
    const result = fn();
    // Prisma's promises are lazy: start them here, inside the context, not where they are awaited.
    return (typeof (result as { then?: unknown } | null)?.then === "function" ? Promise.resolve(result) : result) as T;
  });
}

/** The actor of the current async context, `{ id: "system", type: "system" }` when none. */
export function currentActor(): Actor {
  return storage.getStore() ?? SYSTEM_ACTOR;
}
