/**
 * Cache invalidation between panels. Every hook that reads a resource subscribes to that
 * resource's revision for its client; every write bumps the revisions it can affect. So after an
 * override the config editor, the inheritance view and the tree all re-read, without a reload and
 * without the panels knowing about each other.
 *
 * Keyed by client object: two clients (two sessions) never invalidate each other.
 */
import { useSyncExternalStore } from "react";

export type StratumResource = "tenants" | "config" | "permissions" | "keys" | "webhooks" | "audit" | "isolation" | "overview";

interface Bus {
  revisions: Map<StratumResource, number>;
  listeners: Set<() => void>;
}

const buses = new WeakMap<object, Bus>();

function busOf(client: object): Bus {
  let bus = buses.get(client);
  if (!bus) {
    bus = { revisions: new Map(), listeners: new Set() };
    buses.set(client, bus);
  }
  return bus;
}

/** Marks resources stale: their hooks reload, keeping the old data on screen meanwhile. */
export function invalidate(client: object, ...resources: StratumResource[]): void {
  const bus = busOf(client);
  // Every write leaves an audit entry, so the audit view is always stale after one.
  for (const r of new Set<StratumResource>([...resources, "audit"])) bus.revisions.set(r, (bus.revisions.get(r) ?? 0) + 1);
  for (const listener of [...bus.listeners]) listener();
}

/** The resource's revision for this client; changes after each invalidate() that names it. */
export function useRevision(client: object, resource: StratumResource): number {
  const bus = busOf(client);
  return useSyncExternalStore(
    (listener) => {
      bus.listeners.add(listener);
      return () => bus.listeners.delete(listener);
    },
    () => bus.revisions.get(resource) ?? 0,
    () => 0,
  );
}
