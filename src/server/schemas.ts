/**
 * zod schemas shared by the routes. The same objects validate requests, shape (and strip)
 * responses, and become the OpenAPI document, so the three cannot disagree. Response objects are
 * plain (not loose) on purpose: a column added to a service later is not published until it is
 * listed here.
 */
import { z } from "zod";
import { ConditionSchema, JsonValueSchema } from "../abac/conditions.js";
import { ErrorCodes } from "../core/errors.js";
import { IsolationStrategies, TenantStatuses } from "../core/types.js";

/** Named schemas: they become `components.schemas` in the OpenAPI document. */
export const schemaRegistry = z.registry<{ id?: string; examples?: unknown[] }>();

/** A component of the document; `example` is what it shows readers (and what a test checks is there). */
function named<S extends z.ZodType>(id: string, schema: S, example?: unknown): S {
  schemaRegistry.add(schema, example === undefined ? { id } : { id, examples: [example] });
  return schema;
}

const EXAMPLE_ROOT = "7d1c5a2e-0b8f-4c3a-9e61-2f4b8d0c1a90";
const EXAMPLE_TENANT = "0b9c1f7e-6f0a-4c1e-9a39-2b1f4f3c9d10";
const EXAMPLE_TIME = "2026-12-06T09:30:00.000Z";

/** Services return Dates from SQL rows and ISO strings from JSON aggregates; both serialize to ISO. */
export const Timestamp = z.union([z.date(), z.string()]);

export const TenantId = z.uuid({ message: "must be a UUID" });
export const TenantParams = z.object({ id: TenantId });
export const ConfigKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/, "letters, digits and _ . : / - (not starting with a symbol)");
export const KeyParams = TenantParams.extend({ key: ConfigKey });

/**
 * Any JSON value (config values, permission values). Named so its recursion becomes one
 * component that refers to itself: unnamed, every route would carry a dangling local `$ref`.
 */
export const JsonValue = named("JsonValue", JsonValueSchema);

/** One ABAC condition; named for the same reason as JsonValue (its `value` is any JSON). */
export const PolicyCondition = named("PolicyCondition", ConditionSchema);

/** Query strings arrive as text: "true"/"false" only, anything else is a validation error. */
export const QueryBoolean = z.enum(["true", "false"]).transform((v) => v === "true");

export const ErrorBody = named(
  "Error",
  z.object({
    error: z.object({
      code: z.enum(ErrorCodes).describe("Stable: branch on it, never on the message."),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
);

/** Every route may answer these; listed so clients (and the OpenAPI document) know the shape. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
} as const;

export const Tenant = named(
  "Tenant",
  z.object({
    id: z.string(),
    parent_id: z.string().nullable(),
    slug: z.string(),
    name: z.string(),
    path: z.array(z.string()).describe("Ancestor ids from the root to this tenant, inclusive."),
    depth: z.number().int(),
    status: z.enum(TenantStatuses),
    isolation_strategy: z.enum(IsolationStrategies),
    placement: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
    archived_at: Timestamp.nullable(),
  }),
  {
    id: EXAMPLE_TENANT,
    parent_id: EXAMPLE_ROOT,
    slug: "northstar_msp",
    name: "NorthStar MSP",
    path: [EXAMPLE_ROOT, EXAMPLE_TENANT],
    depth: 1,
    status: "active",
    isolation_strategy: "SHARED_RLS",
    placement: null,
    metadata: { region: "eu" },
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
    archived_at: null,
  },
);

export const TenantList = z.object({ data: z.array(Tenant), next_cursor: z.string().nullable() });

export const ResolvedConfigEntry = named(
  "ResolvedConfigEntry",
  z.object({
    value: z.unknown(),
    inherited: z.boolean(),
    locked: z.boolean(),
    source_tenant_id: z.string(),
    sensitive: z.literal(true).optional(),
    redacted: z.literal(true).optional(),
  }),
  { value: 1000, inherited: true, locked: false, source_tenant_id: EXAMPLE_ROOT },
);

export const ConfigEntry = named(
  "ConfigEntry",
  z.object({
    id: z.string(),
    tenant_id: z.string(),
    key: z.string(),
    value: z.unknown(),
    locked: z.boolean(),
    sensitive: z.boolean(),
    version: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
    redacted: z.literal(true).optional(),
  }),
  {
    id: "5e0f3c1a-8d2b-4f6e-a1c7-3b9d2e4f6a81",
    tenant_id: EXAMPLE_TENANT,
    key: "max_users",
    value: 1000,
    locked: false,
    sensitive: false,
    version: 1,
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
  },
);

export const Permission = named(
  "Permission",
  z.object({
    id: z.string(),
    tenant_id: z.string(),
    key: z.string(),
    value: z.unknown(),
    mode: z.enum(["LOCKED", "INHERITED", "DELEGATED"]),
    revocation_mode: z.enum(["CASCADE", "SOFT", "PERMANENT"]),
    revoked_at: Timestamp.nullable(),
    delegated_from: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  {
    id: "9a7b6c5d-4e3f-4a2b-8c1d-0e9f8a7b6c5d",
    tenant_id: EXAMPLE_ROOT,
    key: "manage_users",
    value: true,
    mode: "LOCKED",
    revocation_mode: "CASCADE",
    revoked_at: null,
    delegated_from: null,
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
  },
);

export const ResolvedPermission = named(
  "ResolvedPermission",
  z.object({
    key: z.string(),
    value: z.unknown(),
    mode: z.enum(["LOCKED", "INHERITED", "DELEGATED"]),
    source_tenant_id: z.string(),
    locked: z.boolean(),
    delegated: z.boolean(),
  }),
  { key: "manage_users", value: true, mode: "LOCKED", source_tenant_id: EXAMPLE_ROOT, locked: true, delegated: false },
);

export const ApiKey = named(
  "ApiKey",
  z.object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    tenant_id: z.string().nullable(),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable().describe("Refreshed at most once a minute."),
    revoked_at: Timestamp.nullable(),
    expires_at: Timestamp.nullable().describe("Refused from this time on (expiry, or the end of a rotation's grace period)."),
    rate_limit: z.number().int().nullable().describe("Requests per minute for this key; null: the server's rule."),
  }),
  {
    id: "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4",
    name: "CI deploys",
    scopes: ["tenants:read", "config:write"],
    tenant_id: EXAMPLE_TENANT,
    created_at: EXAMPLE_TIME,
    last_used_at: null,
    revoked_at: null,
    expires_at: null,
    rate_limit: 120,
  },
);
