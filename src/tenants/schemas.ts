/** zod schemas for the tenants service's public inputs. */
import { z } from "zod";
import { IsolationStrategies, TenantStatuses } from "../core/types.js";

export const SLUG_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
const RESERVED = /^(public|information_schema|pg_.*|stratum.*)$/;

export function isReservedSlug(slug: string): boolean {
  return RESERVED.test(slug);
}

/** "NorthStar MSP" → "northstar_msp": the landing page creates tenants with a name alone. */
export function slugFromName(name: string): string {
  let slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!/^[a-z]/.test(slug)) slug = `t_${slug}`;
  slug = slug.slice(0, 63).replace(/_+$/, "");
  return isReservedSlug(slug) ? `t_${slug}`.slice(0, 63) : slug;
}

export const uuid = z.string().uuid({ message: "must be a UUID" });

export const CreateTenantInput = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200),
    slug: z.string().optional(),
    parent_id: uuid.nullish(),
    isolation_strategy: z.enum(IsolationStrategies).default("SHARED_RLS"),
    /** DATABASE tenants: which configured server holds the tenant's database. */
    server: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type CreateTenantInput = z.input<typeof CreateTenantInput>;

/**
 * What can change in place. The slug names the tenant's schema or database, and the parent and
 * strategy have their own operations (moveTenant, setIsolation), so neither is here.
 */
export const UpdateTenantInput = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.metadata !== undefined, "give name, metadata or both");
export type UpdateTenantInput = z.input<typeof UpdateTenantInput>;

export const ListTenantsInput = z
  .object({
    parent_id: uuid.nullish(),
    status: z.enum(TenantStatuses).optional(),
    isolation_strategy: z.enum(IsolationStrategies).optional(),
    /** Case-insensitive match on name or slug. */
    search: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: z.string().nullish(),
  })
  .strict();
export type ListTenantsInput = z.input<typeof ListTenantsInput>;

export const DeleteTenantInput = z.object({ cascade: z.boolean().default(false) }).strict();
export type DeleteTenantInput = z.input<typeof DeleteTenantInput>;
