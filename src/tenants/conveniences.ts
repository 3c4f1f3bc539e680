/**
 * Small tenant operations an operator reaches for daily: the root of a tenant's tree, changing a
 * slug, and ancestors / descendants a page at a time (a large MSP's subtree does not fit one
 * answer). A slug is a label only — homes and scopes are named from the tenant id
 * (docs/architecture.md §4 rule 7) — so changing it moves nothing.
 */
import { z } from "zod";
import type { Db } from "../core/db.js";
import { StratumError } from "../core/errors.js";
import type { AuditSink, ChangeBus } from "../core/ports.js";
import type { Tenant } from "../core/types.js";
import { assertTenantId, validate } from "../core/validate.js";
import { isSlugViolation, slugTaken } from "./create.js";
import { COLUMNS, toTenant, type TenantRow } from "./rows.js";
import { ANCESTORS_PAGE_SQL, DESCENDANTS_PAGE_SQL, ROOT_SQL } from "./tree-reads.js";
import { isReservedSlug, SLUG_PATTERN } from "./schemas.js";

export interface TenantPage {
  data: Tenant[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface PageOptions {
  /** 1-500, default 100. */
  limit?: number;
  cursor?: string | null;
}

const Page = z.object({ limit: z.number().int().min(1).max(500).default(100), cursor: z.string().max(2000).nullish() }).strict();

function notFound(id: string): StratumError {
  return new StratumError("TENANT_NOT_FOUND", `Tenant ${id} does not exist. Check the id.`, { tenantId: id });
}

function badCursor(): StratumError {
  return new StratumError("VALIDATION_FAILED", "Invalid cursor: pass the next_cursor of a previous page unchanged.", { field: "cursor" });
}

/** Descendant cursors carry the last row's ltree path (labels are uuids with `_`), opaque to callers. */
const encodePath = (path: string[]): string => Buffer.from(path.join(".").replace(/-/g, "_"), "utf8").toString("base64url");
function decodePath(cursor: string): string {
  const path = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^[0-9a-f_]{36}(\.[0-9a-f_]{36}){0,63}$/.test(path)) throw badCursor();
  return path;
}

export function tenantConveniences(db: Db, deps: { audit: AuditSink; bus?: ChangeBus; changed?: (ids: string[]) => void }) {
  /** The top of the tenant's tree (the tenant itself when it is a root). */
  async function getRoot(id: string): Promise<Tenant> {
    assertTenantId(id);
    const rows = await db.query<TenantRow>(ROOT_SQL, [id]);
    if (!rows[0]) throw notFound(id);
    return toTenant(rows[0]);
  }

  /** A new slug for the tenant; audited (`tenant.slug_change`) with both values. */
  async function changeSlug(id: string, slug: string): Promise<Tenant> {
    assertTenantId(id);
    if (typeof slug !== "string" || !SLUG_PATTERN.test(slug) || isReservedSlug(slug)) {
      throw new StratumError(
        "INVALID_SLUG",
        `Slug ${JSON.stringify(slug)} is not allowed: use 1-63 characters of a-z, 0-9 and _, starting with a letter, and not public, information_schema, pg_* or stratum*.`,
        { slug },
      );
    }
    const after = await db
      .transaction(async (tx) => {
        const before = (await tx.query<TenantRow>(`SELECT ${COLUMNS} FROM public.stratum_tenants WHERE id = $1::uuid FOR UPDATE`, [id]))[0];
        if (!before) throw notFound(id);
        if (before.status === "archived") {
          throw new StratumError("TENANT_ARCHIVED", `Tenant ${before.slug} (${id}) is archived; restore it before changing its slug.`, { tenantId: id });
        }
        if (before.slug === slug) return toTenant(before);
        const taken = await tx.query(`SELECT 1 FROM public.stratum_tenants WHERE slug = $1 AND id <> $2::uuid`, [slug, id]);
        if (taken.length) throw slugTaken(slug);
        const rows = await tx.query<TenantRow>(`UPDATE public.stratum_tenants SET slug = $2, updated_at = now() WHERE id = $1::uuid RETURNING ${COLUMNS}`, [
          id,
          slug,
        ]);
        await deps.audit.record(tx, {
          tenantId: id,
          action: "tenant.slug_change",
          targetType: "tenant",
          targetId: id,
          before: { slug: before.slug },
          after: { slug },
        });
        await deps.bus?.publish(tx, { kind: "tenant", tenantId: id, subtree: false });
        return toTenant(rows[0]!);
      })
      .catch((error: unknown) => {
        // Two renames to one slug at once: the unique index refuses the second.
        if (isSlugViolation(error)) throw slugTaken(slug);
        throw error;
      });
    deps.changed?.([id]);
    return after;
  }

  /** Descendants depth-first (by path), a page at a time. */
  async function getDescendantsPage(id: string, options: PageOptions = {}): Promise<TenantPage> {
    assertTenantId(id);
    const { limit, cursor } = validate(Page, options, "page");
    const after = cursor ? decodePath(cursor) : null;
    const rows = await db.query<TenantRow & { found: boolean }>(DESCENDANTS_PAGE_SQL, [id, after, limit + 1]);
    if (rows.length === 0 && !(await db.query(`SELECT 1 FROM public.stratum_tenants WHERE id = $1::uuid`, [id])).length) throw notFound(id);
    const data = rows.slice(0, limit).map(toTenant);
    return { data, next_cursor: rows.length > limit ? encodePath(data[data.length - 1]!.path) : null };
  }

  /** Ancestors root first, a page at a time; `fromDepth` starts below the tree's top (a subtree-limited caller). */
  async function getAncestorsPage(id: string, options: PageOptions & { fromDepth?: number } = {}): Promise<TenantPage> {
    assertTenantId(id);
    const { fromDepth, ...paging } = options;
    const { limit, cursor } = validate(Page, paging, "page");
    if (cursor != null && !/^[0-9]{1,2}$/.test(cursor)) throw badCursor();
    const start = Math.max(cursor != null ? Number(cursor) + 1 : 0, fromDepth ?? 0);
    const rows = await db.query<TenantRow & { self: boolean }>(ANCESTORS_PAGE_SQL, [id, start, limit + 2]);
    if (rows.length === 0 && !(await db.query(`SELECT 1 FROM public.stratum_tenants WHERE id = $1::uuid`, [id])).length) throw notFound(id);
    const ancestors = rows.filter((r) => !r.self).map(({ self: _self, ...row }) => toTenant(row));
    const data = ancestors.slice(0, limit);
    return { data, next_cursor: ancestors.length > limit ? String(data[data.length - 1]!.depth) : null };
  }

  return { getRoot, changeSlug, getDescendantsPage, getAncestorsPage };
}
