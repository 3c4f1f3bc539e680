/**
 * The tenant tree. Every structural write runs in one transaction under locks no wider than the
 * change (tree-locks.ts): a create locks its parent's path, shared, so creates run side by side; a
 * move locks the tenant it moves and the paths it reads (its old and new parent's); an archive,
 * restore or delete locks the tenant it changes. Writes in disjoint subtrees never wait for each
 * other. The invariants
 * (path = parent path + own label, depth = nlevel(path) - 1, no cycles, no orphans) hold after any
 * interleaving. Reads take no lock.
 */
import { subtreeSql } from "../core/subtree.js";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, ChangeBus } from "../core/ports.js";
import type { Tenant } from "../core/types.js";
import { assertTenantId, validate } from "../core/validate.js";
import { CREATED_SETTING, createInOneTrip, insertTenant, isSlugViolation, slugTaken } from "./create.js";
import type { EraseTransaction } from "./erase.js";
import { COLUMNS, toTenant, type TenantRow } from "./rows.js";
import { ANCESTORS_SQL, DESCENDANTS_SQL } from "./tree-reads.js";
import { CreateTenantInput, UpdateTenantInput, DeleteTenantInput, isReservedSlug, ListTenantsInput, SLUG_PATTERN, slugFromName } from "./schemas.js";
import { moveSubtree } from "./move.js";
import { lockSubtree, retryWhilePathsMove } from "./tree-locks.js";

export interface TenantHooks {
  /** Creates a SCHEMA/DATABASE tenant's home; returns its placement. Runs before the row commits. */
  provision?(tenant: Tenant, server: string | undefined): Promise<string | null>;
  /** Removes a tenant's home and rows (delete); undoes a provision that did not commit. */
  deprovision?(tenant: Tenant): Promise<void>;
  /** A tenant changed (status, parent, strategy): routes and caches must forget it. */
  changed?(tenantIds: string[]): void;
  /**
   * The transaction a delete runs in, able to erase a tenant's rows in the shared tables too
   * (erase.ts). Without it the delete runs in `db.transaction` and can only remove the homes.
   */
  eraseTransaction?: EraseTransaction;
}

export interface TenantServiceDeps {
  audit: AuditSink;
  bus?: ChangeBus;
  hooks?: TenantHooks;
}

export function createTenantService(db: Db, deps: TenantServiceDeps) {
  const hooks = deps.hooks ?? {};

  async function find(tx: Db, id: string): Promise<Tenant | null> {
    const rows = await tx.query<TenantRow>(`SELECT ${COLUMNS} FROM public.stratum_tenants WHERE id = $1::uuid`, [id]);
    return rows[0] ? toTenant(rows[0]) : null;
  }

  async function mustFind(tx: Db, id: string): Promise<Tenant> {
    assertTenantId(id);
    const tenant = await find(tx, id);
    if (!tenant) {
      throw new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist. Check the id or list tenants with listTenants().`, { tenantId: id });
    }
    return tenant;
  }

  async function publish(tx: Db, tenantId: string, subtree: boolean): Promise<void> {
    await deps.bus?.publish(tx, { kind: "tenant", tenantId, subtree });
  }

  async function createTenant(input: CreateTenantInput): Promise<Tenant> {
    const data = validate(CreateTenantInput, input, "tenant");
    const slug = data.slug ?? slugFromName(data.name);
    if (!SLUG_PATTERN.test(slug) || isReservedSlug(slug)) {
      throw new StratumError(
        "INVALID_SLUG",
        `Slug ${JSON.stringify(slug)} is not allowed: use 1-63 characters of a-z, 0-9 and _, starting with a letter, and not public, information_schema, pg_* or stratum*.`,
        { slug },
      );
    }
    const row = { parentId: data.parent_id ?? null, slug, name: data.name, strategy: data.isolation_strategy, metadata: data.metadata };
    if (data.isolation_strategy === "SHARED_RLS" || !hooks.provision) {
      // Nothing to provision: one round trip on the driver, the audit row and COMMIT included.
      const tenant = await createInOneTrip(db, row, async (after, predicted) => {
        const entry = { tenantId: predicted.id, action: "tenant.create", targetType: "tenant", targetId: predicted.id, after: predicted };
        await deps.audit.record(after, { ...entry, mergeAfter: CREATED_SETTING });
        await publish(after, predicted.id, false);
      });
      hooks.changed?.([tenant.id]);
      return tenant;
    }
    let provisioned: Tenant | null = null;
    try {
      const tenant = await db.transaction(async (tx) => {
        let created = await insertTenant(tx, row);
        const placement = await hooks.provision!(created, data.server);
        // Only a home this call made is undone below: a failed provision cleans up after itself.
        provisioned = { ...created, placement };
        await tx.execute(`UPDATE public.stratum_tenants SET placement = $2 WHERE id = $1::uuid`, [created.id, placement]);
        created = { ...created, placement };
        await deps.audit.record(tx, { tenantId: created.id, action: "tenant.create", targetType: "tenant", targetId: created.id, after: created });
        await publish(tx, created.id, false);
        return created;
      });
      // A new tenant changes its ancestors' subtrees (the descendants views).
      hooks.changed?.([tenant.id]);
      return tenant;
    } catch (error) {
      if (provisioned) await hooks.deprovision?.(provisioned).catch(() => undefined);
      if (isSlugViolation(error)) throw slugTaken(slug);
      throw error;
    }
  }

  async function getTenant(id: string): Promise<Tenant> {
    return mustFind(db, id);
  }

  async function getTenantBySlug(slug: string): Promise<Tenant> {
    const rows = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM public.stratum_tenants WHERE slug = $1`, [slug]);
    if (!rows[0]) throw new StratumError("TENANT_NOT_FOUND", `No tenant has slug ${JSON.stringify(slug)}.`, { slug });
    return toTenant(rows[0]);
  }

  async function listTenants(input: ListTenantsInput = {}): Promise<{ data: Tenant[]; next_cursor: string | null }> {
    const filters = validate(ListTenantsInput, input, "tenant list filters");
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (filters.parent_id === null) where.push("parent_id IS NULL");
    else if (filters.parent_id) add("parent_id = ?::uuid", filters.parent_id);
    if (filters.status) add("status = ?", filters.status);
    if (filters.isolation_strategy) add("isolation_strategy = ?", filters.isolation_strategy);
    if (filters.search) {
      params.push(`%${filters.search.replace(/[%_\\]/g, "\\$&")}%`);
      where.push(`(name ILIKE $${params.length} OR slug ILIKE $${params.length})`);
    }
    if (filters.cursor) {
      const [at, id] = decodeCursor(filters.cursor);
      params.push(at, id);
      where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filters.limit + 1);
    // The cursor keeps created_at to the microsecond; a JS Date would round it and repeat rows.
    const rows = await db.query<TenantRow & { cursor_at: string }>(
      `SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
         FROM public.stratum_tenants ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    return {
      data: page.map(({ cursor_at: _, ...row }) => toTenant(row)),
      next_cursor: rows.length > filters.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  async function getChildren(id: string): Promise<Tenant[]> {
    await mustFind(db, id);
    const rows = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM public.stratum_tenants WHERE parent_id = $1::uuid ORDER BY created_at, id`, [id]);
    return rows.map(toTenant);
  }

  /** Root first. One statement: the path's labels are the ancestors' ids (core/subtree.ts). */
  async function getAncestors(id: string): Promise<Tenant[]> {
    assertTenantId(id);
    const rows = await db.query<TenantRow & { self: boolean }>(ANCESTORS_SQL, [id]);
    if (!rows.length) throw new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist.`, { tenantId: id });
    return rows.filter((r) => !r.self).map(({ self: _self, ...row }) => toTenant(row));
  }

  /** Depth-first order (by path). */
  async function getDescendants(id: string): Promise<Tenant[]> {
    const tenant = await mustFind(db, id);
    const rows = await db.query<TenantRow>(DESCENDANTS_SQL, [tenant.id]);
    return rows.map(toTenant);
  }

  async function moveTenant(id: string, newParentId: string | null): Promise<Tenant> {
    assertTenantId(id);
    if (newParentId !== null) assertTenantId(newParentId, "new parent id");
    // A move that finds a path it locked changed meanwhile starts over, holding nothing (tree-locks.ts).
    const moved = await retryWhilePathsMove(() =>
      db.transaction(async (tx) => {
        const { before, after } = await moveSubtree(tx, id, newParentId);
        if (after === before) return after;
        await deps.audit.record(tx, {
          tenantId: id,
          action: "tenant.move",
          targetType: "tenant",
          targetId: id,
          before: { parent_id: before.parent_id },
          after: { parent_id: newParentId },
        });
        await publish(tx, id, true);
        return after;
      }),
    );
    hooks.changed?.([id]);
    return moved;
  }

  /** Renames a tenant or replaces its metadata; audited with both values. */
  async function updateTenant(id: string, input: UpdateTenantInput): Promise<Tenant> {
    const patch = validate(UpdateTenantInput, input, "tenant update");
    const updated = await db.transaction(async (tx) => {
      const before = await mustFind(tx, id);
      if (before.status === "archived") {
        throw new StratumError("TENANT_ARCHIVED", `Tenant ${before.slug} (${id}) is archived; restore it before changing it.`, { tenantId: id });
      }
      const rows = await tx.query<TenantRow>(
        `UPDATE public.stratum_tenants SET name = coalesce($2, name), metadata = coalesce($3::jsonb, metadata), updated_at = now()
          WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [id, patch.name ?? null, patch.metadata === undefined ? null : JSON.stringify(patch.metadata)],
      );
      const after = toTenant(rows[0]!);
      await deps.audit.record(tx, {
        tenantId: id,
        action: "tenant.update",
        targetType: "tenant",
        targetId: id,
        before: { name: before.name, metadata: before.metadata },
        after: { name: after.name, metadata: after.metadata },
      });
      await publish(tx, id, false);
      return after;
    });
    return updated;
  }

  async function setStatus(id: string, status: "active" | "suspended" | "archived", action: string): Promise<Tenant> {
    assertTenantId(id);
    const updated = await db.transaction(async (tx) => {
      await lockSubtree(tx, id);
      const before = await mustFind(tx, id);
      const rows = await tx.query<TenantRow>(
        `UPDATE public.stratum_tenants SET status = $2, updated_at = now(),
                archived_at = CASE WHEN $2 = 'archived' THEN now() ELSE NULL END
          WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [id, status],
      );
      const after = toTenant(rows[0]!);
      await deps.audit.record(tx, { tenantId: id, action, targetType: "tenant", targetId: id, before: { status: before.status }, after: { status } });
      await publish(tx, id, true);
      return after;
    });
    hooks.changed?.([id]);
    return updated;
  }

  /**
   * Deletes a tenant (and with `cascade` its subtree, deepest first) and every row it has: its own
   * schema or database is dropped, its rows in the shared tables are deleted in the same
   * transaction as its tenant row, webhooks and API keys, with an audit row counting what was
   * removed. One transaction per tenant (a transaction acts for one tenant); a cascade cut short
   * leaves a smaller, consistent subtree that a second call finishes. A tenant with an unfinished
   * isolation move is refused: its rows may be in two homes until the move is resumed or rolled back.
   */
  async function deleteTenant(id: string, options: DeleteTenantInput = {}): Promise<{ deleted: string[]; rows: Record<string, number> }> {
    const { cascade } = validate(DeleteTenantInput, options, "delete options");
    const run: EraseTransaction = hooks.eraseTransaction ?? ((fn) => db.transaction((tx) => fn(tx, async () => ({}))));
    const subtree = await db.transaction(async (tx) => {
      await mustFind(tx, id);
      const rows = await tx.query<TenantRow>(
        `SELECT ${COLUMNS} FROM ${subtreeSql("$1::uuid")} sub, public.stratum_tenants WHERE id = ANY(sub.ids) ORDER BY depth DESC, id`,
        [id],
      );
      if (rows.length > 1 && !cascade) {
        throw new StratumError("TENANT_HAS_CHILDREN", `Tenant ${id} has ${rows.length - 1} descendant(s); delete them first or pass { cascade: true }.`, {
          tenantId: id,
        });
      }
      const ids = rows.map((r) => r.id);
      const [moving] = await tx.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM public.stratum_isolation_moves WHERE tenant_id = ANY($1::uuid[]) AND finished_at IS NULL LIMIT 1`,
        [ids],
      );
      if (moving) {
        throw new StratumError(
          "ISOLATION_MOVE_IN_PROGRESS",
          `Tenant ${moving.tenant_id} has an unfinished isolation move; call resumeIsolationMove() or rollbackIsolationMove() before deleting it.`,
          { tenantId: moving.tenant_id },
        );
      }
      return rows.map(toTenant);
    });
    const deleted: string[] = [];
    const rows: Record<string, number> = {};
    try {
      for (const doomed of subtree) {
        const erased = await run((tx, erase) => deleteOne(tx, erase, doomed.id, doomed.id === id ? cascade : false));
        if (!erased) continue; // deleted meanwhile by another call
        deleted.push(doomed.id);
        for (const [table, n] of Object.entries(erased)) rows[table] = (rows[table] ?? 0) + n;
      }
    } finally {
      hooks.changed?.(deleted);
    }
    return { deleted, rows };
  }

  /** One tenant, in one transaction: its home, its shared rows, its row and what hangs off it. */
  async function deleteOne(
    tx: Db,
    erase: (tenant: Tenant) => Promise<Record<string, number>>,
    id: string,
    cascade: boolean,
  ): Promise<Record<string, number> | null> {
    await lockSubtree(tx, id);
    const tenant = await find(tx, id);
    if (!tenant) return null;
    const [children] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.stratum_tenants WHERE parent_id = $1::uuid`, [id]);
    if ((children?.n ?? 0) > 0) {
      throw new StratumError("TENANT_HAS_CHILDREN", `Tenant ${id} gained ${children!.n} child tenant(s) while it was being deleted; call deleteTenant again.`, {
        tenantId: id,
        cascade,
      });
    }
    // The home first (a failure leaves the tenant row, and a second delete finishes the job), then
    // the shared rows, under a short lock of the shared tables (erase.ts).
    await hooks.deprovision?.(tenant);
    const rows = await erase(tenant);
    // Webhooks and API keys have no foreign key to their tenant (they may be global): remove them here.
    await tx.execute(`DELETE FROM public.stratum_webhooks WHERE tenant_id = $1::uuid`, [id]);
    await tx.execute(`DELETE FROM public.stratum_api_keys WHERE tenant_id = $1::uuid`, [id]);
    await tx.execute(`DELETE FROM public.stratum_tenants WHERE id = $1::uuid`, [id]);
    await deps.audit.record(tx, {
      tenantId: tenant.parent_id,
      action: "tenant.delete",
      targetType: "tenant",
      targetId: id,
      before: { ids: [id], slug: tenant.slug, rows },
    });
    await publish(tx, id, false);
    return rows;
  }

  return {
    createTenant,
    updateTenant,
    getTenant,
    getTenantBySlug,
    listTenants,
    getChildren,
    getAncestors,
    getDescendants,
    moveTenant,
    suspendTenant: (id: string) => setStatus(id, "suspended", "tenant.suspend"),
    archiveTenant: (id: string) => setStatus(id, "archived", "tenant.archive"),
    restoreTenant: (id: string) => setStatus(id, "active", "tenant.restore"),
    deleteTenant,
  };
}

export type TenantService = ReturnType<typeof createTenantService>;

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    if (typeof at === "string" && typeof id === "string") return [at, id];
  } catch {
    // fall through
  }
  throw new StratumError("VALIDATION_FAILED", "Invalid cursor: pass the next_cursor of a previous listTenants() page unchanged.");
}
