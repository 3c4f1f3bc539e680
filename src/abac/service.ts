/**
 * Attribute-based access control, inherited down the tenant tree.
 *
 * A policy belongs to a tenant and applies to it and every descendant (archived ancestors drop out,
 * as in config). It matches a request when the action is in its `actions` (or `actions` holds
 * "*"), its `resource_type` is null or equals `resource.type`, and every condition holds (all of
 * them: AND; write two policies for OR). Decision: any matching deny wins over every allow; else
 * any matching allow allows; else denied by default. Among several matching policies of the
 * deciding effect, the one reported is the highest `priority`, then the one closest to the root.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Db } from "../core/db.js";
import type { AuditSink, ChangeBus, ChangeEvent } from "../core/ports.js";
import { StratumError } from "../core/errors.js";
import { validate } from "../core/validate.js";
import { ResolveCache, type ResolveCacheOptions } from "../config/cache.js";
import { CHAIN_CTES, assertTenantId, lockTenant, tenantNotFound } from "../config/tree.js";
import { ConditionSchema, evaluateCondition, type Condition, type EvaluationInput } from "./conditions.js";

export type PolicyEffect = "allow" | "deny";

export interface AbacPolicyInput {
  name: string;
  effect: PolicyEffect;
  /** Actions it covers; "*" for all. */
  actions: string[];
  /** Only resources whose `type` equals this; null / omitted for any. */
  resource_type?: string | null;
  /** All must hold. Empty: the policy matches on action and resource type alone. */
  conditions?: Condition[];
  /** Higher is reported first among policies of the deciding effect. Default 0. */
  priority?: number;
}

export interface AbacPolicy {
  id: string;
  tenant_id: string;
  name: string;
  effect: PolicyEffect;
  actions: string[];
  resource_type: string | null;
  conditions: Condition[];
  priority: number;
  created_at: Date;
  updated_at: Date;
}

export interface AbacDecision {
  allowed: boolean;
  /** The policy that decided; null when no policy matched (default deny). */
  decidedBy: { id: string; name: string; tenant_id: string; effect: PolicyEffect; inherited: boolean } | null;
  reason: string;
  /** Policies considered (action and resource type matched), for explanations. */
  considered: number;
}

export interface AbacServiceDeps {
  audit: AuditSink;
  bus?: ChangeBus;
  cache?: ResolveCache | ResolveCacheOptions | boolean;
}

export interface AbacService {
  createPolicy(tenantId: string, input: AbacPolicyInput): Promise<AbacPolicy>;
  updatePolicy(tenantId: string, name: string, patch: Partial<Omit<AbacPolicyInput, "name">>): Promise<AbacPolicy>;
  deletePolicy(tenantId: string, name: string): Promise<void>;
  /** Own policies, or with `inherited: true` every policy that applies to the tenant. */
  listPolicies(tenantId: string, options?: { inherited?: boolean }): Promise<AbacPolicy[]>;
  evaluate(
    tenantId: string,
    subject: Record<string, unknown>,
    action: string,
    resource: Record<string, unknown>,
    context?: Record<string, unknown>,
  ): Promise<AbacDecision>;
  readonly cache: ResolveCache | null;
  close(): void;
}

const NAME = z.string().min(1).max(200);
const POLICY = z.object({
  name: NAME,
  effect: z.enum(["allow", "deny"]),
  actions: z.array(z.string().min(1).max(200)).min(1),
  resource_type: z.string().min(1).max(200).nullable().optional(),
  conditions: z.array(ConditionSchema).default([]),
  priority: z.number().int().default(0),
});
const PATCH = POLICY.omit({ name: true }).partial();

const COLUMNS = `id::text, tenant_id::text, name, effect, actions, resource_type, conditions, priority, created_at, updated_at`;

/** Every policy on the tenant's live chain, root first (one statement). */
export const CHAIN_POLICIES_SQL = `
WITH ${CHAIN_CTES}
SELECT (SELECT array_agg(chain.id::text ORDER BY chain.depth) FROM chain) AS chain,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'id', p.id, 'tenant_id', p.tenant_id, 'name', p.name, 'effect', p.effect, 'actions', p.actions,
                 'resource_type', p.resource_type, 'conditions', p.conditions, 'priority', p.priority,
                 'created_at', p.created_at, 'updated_at', p.updated_at, 'depth', l.depth)
               ORDER BY l.depth, p.name), '[]'::jsonb)
          FROM live l
         CROSS JOIN LATERAL (SELECT * FROM public.stratum_abac_policies x WHERE x.tenant_id = l.id OFFSET 0) p) AS policies`;

type ChainPolicy = Omit<AbacPolicy, "created_at" | "updated_at"> & { created_at: string; updated_at: string; depth: number };

export function createAbacService(db: Db, deps: AbacServiceDeps): AbacService {
  const cache =
    deps.cache instanceof ResolveCache
      ? deps.cache
      : deps.cache === false || (deps.cache === undefined && !deps.bus)
        ? null
        : new ResolveCache(typeof deps.cache === "object" ? deps.cache : {});
  const detach = cache && deps.bus ? cache.attach(deps.bus) : null;

  async function mutate<R>(tenantId: string, fn: (tx: Db, slug: string) => Promise<R>): Promise<R> {
    assertTenantId(tenantId);
    const event: ChangeEvent = { kind: "permission", tenantId, subtree: true };
    const result = await db.transaction(async (tx) => {
      const tenant = await lockTenant(tx, tenantId);
      const out = await fn(tx, tenant.slug);
      await deps.bus?.publish(tx, event);
      return out;
    });
    cache?.invalidate(event);
    return result;
  }

  async function chainPolicies(tenantId: string): Promise<ChainPolicy[]> {
    assertTenantId(tenantId);
    const key = `abac:${tenantId}`;
    const hit = cache?.get<ChainPolicy[]>(key);
    if (hit) return hit;
    const generation = cache?.generation ?? 0;
    const rows = await db.query<{ chain: string[] | null; policies: ChainPolicy[] }>(CHAIN_POLICIES_SQL, [tenantId]);
    const row = rows[0];
    if (!row || !row.chain) throw tenantNotFound(tenantId);
    cache?.set(key, row.policies, row.chain, generation);
    return row.policies;
  }

  function notFound(tenantId: string, slug: string, name: string): StratumError {
    return new StratumError("NOT_FOUND", `Tenant ${slug} has no ABAC policy named "${name}".`, { tenantId, name });
  }

  return {
    cache,
    close() {
      detach?.();
    },

    async createPolicy(tenantId, input) {
      const p = validate(POLICY, input, "ABAC policy");
      return mutate(tenantId, async (tx, slug) => {
        const exists = await tx.query(`SELECT 1 FROM public.stratum_abac_policies WHERE tenant_id = $1::uuid AND name = $2`, [tenantId, p.name]);
        if (exists.length > 0) {
          throw new StratumError("CONFLICT", `Tenant ${slug} already has an ABAC policy named "${p.name}"; use updatePolicy.`, {
            tenantId,
            name: p.name,
          });
        }
        const rows = await tx.query<AbacPolicy>(
          `INSERT INTO public.stratum_abac_policies (id, tenant_id, name, effect, actions, resource_type, conditions, priority)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5::text[], $6, $7::jsonb, $8) RETURNING ${COLUMNS}`,
          [randomUUID(), tenantId, p.name, p.effect, p.actions, p.resource_type ?? null, JSON.stringify(p.conditions), p.priority],
        );
        const row = rows[0]!;
        await deps.audit.record(tx, { tenantId, action: "abac.create", targetType: "abac_policy", targetId: p.name, after: row });
        return row;
      });
    },

    async updatePolicy(tenantId, name, patch) {
      validate(NAME, name, "ABAC policy name");
      const p = validate(PATCH, patch, "ABAC policy update");
      return mutate(tenantId, async (tx, slug) => {
        const before = (
          await tx.query<AbacPolicy>(`SELECT ${COLUMNS} FROM public.stratum_abac_policies WHERE tenant_id = $1::uuid AND name = $2 FOR UPDATE`, [
            tenantId,
            name,
          ])
        )[0];
        if (!before) throw notFound(tenantId, slug, name);
        const rows = await tx.query<AbacPolicy>(
          `UPDATE public.stratum_abac_policies
              SET effect = $3, actions = $4::text[], resource_type = $5, conditions = $6::jsonb, priority = $7, updated_at = now()
            WHERE id = $1::uuid AND tenant_id = $2::uuid RETURNING ${COLUMNS}`,
          [
            before.id,
            tenantId,
            p.effect ?? before.effect,
            p.actions ?? before.actions,
            p.resource_type === undefined ? before.resource_type : p.resource_type,
            JSON.stringify(p.conditions ?? before.conditions),
            p.priority ?? before.priority,
          ],
        );
        const row = rows[0]!;
        await deps.audit.record(tx, { tenantId, action: "abac.update", targetType: "abac_policy", targetId: name, before, after: row });
        return row;
      });
    },

    async deletePolicy(tenantId, name) {
      validate(NAME, name, "ABAC policy name");
      await mutate(tenantId, async (tx, slug) => {
        const rows = await tx.query<AbacPolicy>(`DELETE FROM public.stratum_abac_policies WHERE tenant_id = $1::uuid AND name = $2 RETURNING ${COLUMNS}`, [
          tenantId,
          name,
        ]);
        if (!rows[0]) throw notFound(tenantId, slug, name);
        await deps.audit.record(tx, { tenantId, action: "abac.delete", targetType: "abac_policy", targetId: name, before: rows[0] });
      });
    },

    async listPolicies(tenantId, options = {}) {
      const all = await chainPolicies(tenantId);
      return all
        .filter((p) => options.inherited === true || p.tenant_id === tenantId)
        .map(({ depth: _depth, ...p }) => ({ ...p, created_at: new Date(p.created_at), updated_at: new Date(p.updated_at) }));
    },

    async evaluate(tenantId, subject, action, resource, context = {}) {
      if (typeof action !== "string" || action.length === 0) {
        throw new StratumError("VALIDATION_FAILED", "evaluate needs a non-empty action string.");
      }
      const input: EvaluationInput = { subject: subject ?? {}, action, resource: resource ?? {}, context };
      const resourceType = typeof input.resource.type === "string" ? input.resource.type : null;
      const candidates = (await chainPolicies(tenantId)).filter(
        (p) => (p.actions.includes("*") || p.actions.includes(action)) && (p.resource_type === null || p.resource_type === resourceType),
      );
      const matching = candidates.filter((p) => p.conditions.every((c) => evaluateCondition(c, input)));
      const pick = (effect: PolicyEffect) =>
        matching.filter((p) => p.effect === effect).sort((a, b) => b.priority - a.priority || a.depth - b.depth || a.name.localeCompare(b.name))[0];
      const deny = pick("deny");
      const allow = pick("allow");
      const decided = deny ?? allow;
      if (!decided) {
        return {
          allowed: false,
          decidedBy: null,
          reason: `No policy allows "${action}"${resourceType ? ` on ${resourceType}` : ""} (${candidates.length} considered, none matched): denied by default.`,
          considered: candidates.length,
        };
      }
      const where = decided.tenant_id === tenantId ? "this tenant" : `ancestor tenant ${decided.tenant_id}`;
      const reason = deny
        ? `Denied by policy "${deny.name}" of ${where}${allow ? `; deny overrides the matching allow "${allow.name}"` : ""}.`
        : `Allowed by policy "${decided.name}" of ${where}.`;
      return {
        allowed: !deny,
        decidedBy: { id: decided.id, name: decided.name, tenant_id: decided.tenant_id, effect: decided.effect, inherited: decided.tenant_id !== tenantId },
        reason,
        considered: candidates.length,
      };
    },
  };
}
