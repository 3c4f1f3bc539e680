/**
 * One error shape for every answer: `{ error: { code, message, details? } }`. StratumError codes
 * pass through with their message; anything else becomes INTERNAL with a fixed message, so a
 * driver error, SQL text or stack trace never reaches a client (they go to the log instead).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { isStratumError, StratumError, type ErrorCode } from "../core/errors.js";
import { httpWording } from "./http-wording.js";

export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_TENANT_ID: 400,
  CONFIG_VALUE_TOO_LARGE: 400,
  INVALID_SLUG: 400,
  PLACEMENT_UNKNOWN: 400,
  REPLICA_WRITE_REFUSED: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TENANT_SCOPE_VIOLATION: 403,
  READ_ONLY_SCOPE: 403,
  DESCENDANTS_OUT_OF_REACH: 409,
  DESCENDANTS_TOO_WIDE: 422,
  TENANT_NOT_FOUND: 404,
  CONFIG_NOT_FOUND: 404,
  PERMISSION_NOT_FOUND: 404,
  NOT_FOUND: 404,
  SLUG_TAKEN: 409,
  CONFLICT: 409,
  CYCLE_DETECTED: 409,
  TENANT_ARCHIVED: 409,
  TENANT_SUSPENDED: 409,
  TENANT_HAS_CHILDREN: 409,
  TENANT_HAS_DATA: 409,
  CONFIG_LOCKED: 409,
  PERMISSION_LOCKED: 409,
  PERMISSION_REVOKED: 409,
  PERMISSION_NOT_DELEGATED: 409,
  ISOLATION_MOVE_IN_PROGRESS: 409,
  MAX_DEPTH_EXCEEDED: 422,
  RATE_LIMITED: 429,
  ISOLATION_MOVE_FAILED: 500,
  NO_TENANT_CONTEXT: 500,
  ADAPTER_NOT_STRATUM: 500,
  UNSUPPORTED_DRIVER_VERSION: 500,
  ENCRYPTION_FAILED: 500,
  DECRYPTION_FAILED: 500,
  KEY_NOT_FOUND: 500,
  MIGRATION_FAILED: 500,
  GENERATOR_REFUSED: 500,
  PEER_DEPENDENCY_MISSING: 500,
  INTERNAL: 500,
  SCOPE_KEY_MISMATCH: 500,
  UNSAFE_CONNECTION: 503,
  CONNECTION_LOST: 503,
  CONNECTION_BUDGET_EXHAUSTED: 503,
  SESSION_RESET_FAILED: 503,
  POOLER_DETECTED: 503,
};

export interface ErrorPayload {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** Server-side failures keep their code but not their message: it may quote SQL or a driver. */
const SERVER_MESSAGES: Partial<Record<ErrorCode, string>> = {
  ISOLATION_MOVE_FAILED:
    "The isolation move did not complete; its journal is kept. Inspect GET /api/v1/tenants/{id}/isolation/moves, then resume or roll back.",
  UNSAFE_CONNECTION: "The server's database connection failed stratum's safety check; the operator must fix it (stratum doctor).",
};

export function errorPayload(code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorPayload {
  return { error: details ? { code, message, details } : { code, message } };
}

function fromStratumError(error: StratumError): { status: number; payload: ErrorPayload } {
  const status = STATUS_OF[error.code];
  if (status >= 500) {
    const message = SERVER_MESSAGES[error.code] ?? `The server could not complete the request (${error.code}); the details are in the server log.`;
    return { status, payload: errorPayload(error.code, message) };
  }
  return { status, payload: errorPayload(error.code, httpWording(error.message), error.details ? { ...error.details } : undefined) };
}

/** Fastify's own 4xx errors (bad JSON, wrong media type, body too large) carry safe, fixed texts. */
function fromFastifyError(error: FastifyError): { status: number; payload: ErrorPayload } | null {
  const status = error.statusCode;
  if (!status || status < 400 || status >= 500) return null;
  const code: ErrorCode =
    status === 404 ? "NOT_FOUND" : status === 401 ? "UNAUTHORIZED" : status === 403 ? "FORBIDDEN" : status === 429 ? "RATE_LIMITED" : "VALIDATION_FAILED";
  return { status, payload: errorPayload(code, error.message) };
}

export function describeError(error: unknown): { status: number; payload: ErrorPayload } {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? "request";
    const issues = error.validation.map((issue) => ({
      path: issue.instancePath.replace(/^\//, "").replace(/\//g, ".") || "(root)",
      message: issue.message ?? "invalid",
    }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    return { status: 400, payload: errorPayload("VALIDATION_FAILED", `Invalid ${where}: ${summary}.`, { in: where, issues }) };
  }
  if (isStratumError(error)) return fromStratumError(error);
  const fastify = typeof error === "object" && error !== null && "statusCode" in error ? fromFastifyError(error as FastifyError) : null;
  if (fastify) return fastify;
  return { status: 500, payload: errorPayload("INTERNAL", "Internal error; the details are in the server log.") };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, payload } = describeError(error);
    if (status >= 500) request.log.error({ err: error }, "request failed");
    if (isStratumError(error, "RATE_LIMITED")) {
      const retryAfterMs = Number(error.details?.retryAfterMs ?? 1000);
      void reply.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    }
    return reply.code(status).send(payload);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorPayload("NOT_FOUND", `No route ${request.method} ${request.url.split("?")[0]}. The API lives under /api/v1; see GET /openapi.json.`)),
  );
}
