/**
 * Optional peers, loaded on first use. Redis (ioredis), the webhook queue (bullmq) and JWT checks
 * (jose) serve parts of stratum an app may never use, so they are optional peer dependencies: a
 * library-only install does not pull them in, and importing `stratum-prisma` never loads them.
 * The part that needs one imports it here when it first runs; when it is not installed the caller
 * gets PEER_DEPENDENCY_MISSING naming the package and the `npm i` that fixes it, instead of
 * Node's bare ERR_MODULE_NOT_FOUND from deep inside the library.
 */
import { StratumError } from "./errors.js";

/** The optional peers and their modules (type-only: nothing here loads them). */
interface PeerModules {
  ioredis: typeof import("ioredis");
  bullmq: typeof import("bullmq");
  jose: typeof import("jose");
}

export type OptionalPeer = keyof PeerModules;
export type PeerModule<P extends OptionalPeer> = PeerModules[P];

/** Each optional peer's loader: literal specifiers, so bundlers still see the imports. */
const LOADERS: { readonly [P in OptionalPeer]: () => Promise<unknown> } = {
  ioredis: () => import("ioredis"),
  bullmq: () => import("bullmq"),
  jose: () => import("jose"),
};

/** The peer's versions stratum is tested with (package.json peerDependencies). */
const RANGES: { readonly [P in OptionalPeer]: string } = { ioredis: "^6.0.0", bullmq: "^6.7.0", jose: "^6.2.0" };

const loaded = new Map<OptionalPeer, Promise<unknown>>();

/** True when `error` says `name` itself could not be found (not a module it imports failing). */
function isNotFound(error: unknown, name: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = e?.code;
  const message = typeof e?.message === "string" ? e.message : "";
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (module|package)/.test(message)) && message.includes(`'${name}'`);
}

export function peerMissing(name: OptionalPeer, feature: string, cause?: unknown): StratumError {
  return new StratumError(
    "PEER_DEPENDENCY_MISSING",
    `${feature} needs the optional peer dependency ${name}, which is not installed: \`npm i ${name}@"${RANGES[name]}"\`.`,
    { package: name, feature, install: `npm i ${name}` },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The peer's module, imported once per process. `feature` names what needs it (it goes in the
 * error). `load` replaces the import (tests of the missing case).
 */
export function loadOptionalPeer<P extends OptionalPeer>(name: P, feature: string, load: () => Promise<unknown> = LOADERS[name]): Promise<PeerModule<P>> {
  let module = load === LOADERS[name] ? loaded.get(name) : undefined;
  if (!module) {
    module = load();
    if (load === LOADERS[name]) loaded.set(name, module);
  }
  return module.then(
    (m) => m as PeerModule<P>,
    (error: unknown) => {
      // Not cached as missing forever: the next call retries (an install while running is rare,
      // but a failed first import must not poison the process).
      if (load === LOADERS[name]) loaded.delete(name);
      throw isNotFound(error, name) ? peerMissing(name, feature, error) : error;
    },
  );
}
