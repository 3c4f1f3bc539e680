/** /tenants/:id/isolation: live moves between SHARED_RLS, SCHEMA and DATABASE. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { IsolationStrategies } from "../../core/types.js";
import { errorResponses, TenantParams } from "../schemas.js";
import type { RouteDeps } from "../types.js";

const tags = ["isolation"];
const Strategy = z.enum(IsolationStrategies);
const Home = z.object({ strategy: Strategy, placement: z.string().nullable() });
const MoveResult = z
  .object({
    tenant_id: z.string(),
    moved: z.boolean(),
    from: Home,
    to: Home,
    row_counts: z.record(z.string(), z.number()),
  })
  .meta({
    examples: [
      {
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        moved: true,
        from: { strategy: "SHARED_RLS", placement: null },
        to: { strategy: "SCHEMA", placement: "t_0b9c1f7e6f0a4c1e9a392b1f4f3c9d10" },
        row_counts: { users: 120, tickets: 2400 },
      },
    ],
  });
const MoveJournal = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    from_strategy: Strategy,
    to_strategy: Strategy,
    from_placement: z.string().nullable(),
    to_placement: z.string().nullable(),
    step: z.string(),
    row_counts: z.record(z.string(), z.number()),
  })
  .meta({
    examples: [
      {
        id: "f0e1d2c3-b4a5-4697-8889-7a6b5c4d3e2f",
        tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10",
        from_strategy: "SHARED_RLS",
        to_strategy: "SCHEMA",
        from_placement: null,
        to_placement: "t_0b9c1f7e6f0a4c1e9a392b1f4f3c9d10",
        step: "done",
        row_counts: { users: 120 },
      },
    ],
  });
const ServerOption = z.object({ server: z.string().min(1).max(100).optional().describe("DATABASE: the configured server to place the tenant's database on.") });
const SetBody = ServerOption.extend({ strategy: Strategy })
  .strict()
  .meta({ examples: [{ strategy: "SCHEMA" }] });

export const isolationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { stratum, guard }) => {
  app.post(
    "/tenants/:id/isolation",
    {
      schema: {
        tags,
        summary: "Move the tenant to another isolation strategy",
        description: "Scope: isolation:write. Rows are copied, counts verified, the route flipped and the old home removed; runs until done.",
        params: TenantParams,
        body: SetBody,
        response: { 200: MoveResult, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "isolation:write", request.params.id);
      const { strategy, server } = request.body;
      return stratum.setIsolation(request.params.id, strategy, server ? { server } : {});
    },
  );

  app.get(
    "/tenants/:id/isolation/moves",
    {
      schema: {
        tags,
        summary: "The tenant's move journal",
        description: "Scope: isolation:read.",
        params: TenantParams,
        response: { 200: z.array(MoveJournal), ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "isolation:read", request.params.id);
      return stratum.listIsolationMoves(request.params.id);
    },
  );

  app.post(
    "/tenants/:id/isolation/resume",
    {
      schema: {
        tags,
        summary: "Finish an interrupted move",
        description: "Scope: isolation:write.",
        params: TenantParams,
        body: ServerOption.strict().optional(),
        response: { 200: MoveResult, ...errorResponses },
      },
    },
    async (request) => {
      await guard.tenant(request, "isolation:write", request.params.id);
      const server = request.body?.server;
      return stratum.resumeIsolationMove(request.params.id, server ? { server } : {});
    },
  );

  app.post(
    "/tenants/:id/isolation/rollback",
    {
      schema: {
        tags,
        summary: "Undo an interrupted move",
        description: "Scope: isolation:write.",
        params: TenantParams,
        response: {
          200: z
            .object({ tenant_id: z.string(), rolled_back: z.boolean() })
            .meta({ examples: [{ tenant_id: "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10", rolled_back: true }] }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await guard.tenant(request, "isolation:write", request.params.id);
      return stratum.rollbackIsolationMove(request.params.id);
    },
  );
};
