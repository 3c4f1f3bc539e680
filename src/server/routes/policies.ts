/** /tenants/:id/policies and /tenants/:id/evaluate: ABAC policies, inherited down the tree. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, PolicyCondition, QueryBoolean, TenantParams, Timestamp } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["policies"];
const Name = z.string().min(1).max(200);

const PolicyFields = z.object({
  effect: z.enum(["allow", "deny"]),
  actions: z.array(z.string().min(1).max(200)).min(1).describe('Actions covered; "*" for all.'),
  resource_type: z.string().min(1).max(200).nullable().optional(),
  conditions: z.array(PolicyCondition).optional().describe("All must hold."),
  priority: z.number().int().optional(),
});
const CreateBody = PolicyFields.extend({ name: Name })
  .strict()
  .meta({
    examples: [
      {
        name: "analysts_read_reports",
        effect: "allow",
        actions: ["report.read"],
        resource_type: "report",
        conditions: [{ attribute: "subject.role", op: "eq", value: "analyst" }],
      },
    ],
  });
const PatchBody = PolicyFields.partial()
  .strict()
  .meta({ examples: [{ priority: 10 }] });

const Policy = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    name: z.string(),
    effect: z.enum(["allow", "deny"]),
    actions: z.array(z.string()),
    resource_type: z.string().nullable(),
    conditions: z.array(PolicyCondition),
    priority: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({
    examples: [
      {
        id: "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        name: "analysts_read_reports",
        effect: "allow",
        actions: ["report.read"],
        resource_type: "report",
        conditions: [],
        priority: 0,
        created_at: "2026-12-06T09:30:00.000Z",
        updated_at: "2026-12-06T09:30:00.000Z",
      },
    ],
  });

const EvaluateBody = z
  .object({
    subject: z.record(z.string(), z.unknown()),
    action: z.string().min(1).max(200),
    resource: z.record(z.string(), z.unknown()),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ examples: [{ subject: { role: "analyst" }, action: "report.read", resource: { type: "report", owner: "user_42" } }] });

const Decision = z.object({
  allowed: z.boolean(),
  decided_by: z.object({ id: z.string(), name: z.string(), tenant_id: z.string(), effect: z.enum(["allow", "deny"]), inherited: z.boolean() }).nullable(),
  reason: z.string(),
  considered: z.number().int(),
});

const NameParams = TenantParams.extend({ name: Name });

export const policyRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.get(
    "/tenants/:id/policies",
    {
      schema: {
        tags,
        summary: "ABAC policies",
        description: "Scope: permissions:read. With inherited=true, every policy that applies to the tenant.",
        params: TenantParams,
        querystring: z.object({ inherited: QueryBoolean.default(false) }).strict(),
        response: { 200: z.array(Policy), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:read", request.params.id);
      return stratum.listPolicies(request.params.id, { inherited: request.query.inherited });
    },
  );

  app.post(
    "/tenants/:id/policies",
    {
      schema: {
        tags,
        summary: "Create a policy",
        description: "Scope: permissions:write.",
        params: TenantParams,
        body: CreateBody,
        response: { 201: Policy, ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      return reply.code(201).send(await stratum.createPolicy(request.params.id, request.body));
    },
  );

  app.patch(
    "/tenants/:id/policies/:name",
    {
      schema: {
        tags,
        summary: "Change a policy",
        description: "Scope: permissions:write.",
        params: NameParams,
        body: PatchBody,
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      return stratum.updatePolicy(request.params.id, request.params.name, request.body);
    },
  );

  app.delete(
    "/tenants/:id/policies/:name",
    {
      schema: {
        tags,
        summary: "Delete a policy",
        description: "Scope: permissions:write.",
        params: NameParams,
        response: { 204: z.undefined(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await guard.tenant(request, "permissions:write", request.params.id);
      await stratum.deletePolicy(request.params.id, request.params.name);
      return reply.code(204).send();
    },
  );

  app.post(
    "/tenants/:id/evaluate",
    {
      schema: {
        tags,
        summary: "Evaluate an ABAC request",
        description: "Scope: permissions:read. Deny wins; no match denies.",
        params: TenantParams,
        body: EvaluateBody,
        response: { 200: Decision, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "permissions:read", request.params.id);
      const { subject, action, resource, context } = request.body;
      // The library answers camelCase (decidedBy); HTTP answers snake_case like every other route.
      const { decidedBy, ...decision } = await stratum.evaluate(request.params.id, subject, action, resource, context);
      return { ...decision, decided_by: decidedBy };
    },
  );
};
