/**
 * OpenTelemetry spans around stratum's scoped queries and service calls, through
 * `@opentelemetry/api` only: the application registers whatever SDK it likes.
 *
 * Cost when nothing is registered: `withSpan` looks up the global tracer provider, sees the API's
 * ProxyTracerProvider without a delegate (the same no-op provider object every time, so the answer
 * is cached by identity) and calls `fn` directly: no span object, no attribute object, no context
 * switch. A provider registered later is picked up on the next call (the identity changes).
 * bench/telemetry/with-span.ts measures it.
 */
import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Span,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

export const TRACER_NAME = "stratum-prisma";
export const TENANT_ID_ATTRIBUTE = "stratum.tenant_id";
export const ISOLATION_STRATEGY_ATTRIBUTE = "stratum.isolation_strategy";

/** `tenantId` and `isolationStrategy` become `stratum.tenant_id` / `stratum.isolation_strategy`; other keys pass through. */
export type StratumSpanAttributes = {
  tenantId?: string | null;
  isolationStrategy?: string | null;
} & { [key: string]: AttributeValue | null | undefined };

let cachedDelegate: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/** The tracer to record with, or undefined when no provider is registered. */
export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const isProxy = provider instanceof ProxyTracerProvider;
  const delegate = isProxy ? provider.getDelegate() : provider;
  if (delegate === cachedDelegate) return cachedTracer;
  cachedDelegate = delegate;
  // A proxy without a delegate hands out no-op tracers: treat it as "nothing registered".
  cachedTracer = isProxy && provider.getDelegateTracer(TRACER_NAME) === undefined ? undefined : delegate.getTracer(TRACER_NAME);
  return cachedTracer;
}

/** True when spans would be recorded; lets callers skip building expensive attributes. */
export function isTracingEnabled(): boolean {
  return activeTracer() !== undefined;
}

function toAttributes(input: StratumSpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null) continue;
    if (key === "tenantId") out[TENANT_ID_ATTRIBUTE] = value;
    else if (key === "isolationStrategy") out[ISOLATION_STRATEGY_ATTRIBUTE] = value;
    else out[key] = value;
  }
  return out;
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}

/**
 * Runs `fn` inside a span named `name` (the active span while `fn` runs, so nested spans and
 * instrumented drivers parent under it). Exceptions and rejections are recorded on the span and
 * rethrown. Without a registered provider, `fn` runs directly and receives no span.
 */
export function withSpan<T>(name: string, attributes: StratumSpanAttributes, fn: (span: Span | undefined) => T): T {
  const tracer = activeTracer();
  if (tracer === undefined) return fn(undefined);
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes: toAttributes(attributes) }, (span) => {
    let result: T;
    try {
      result = fn(span);
    } catch (error) {
      fail(span, error);
      throw error;
    }
    if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
      return (result as unknown as PromiseLike<unknown>).then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          fail(span, error);
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A copy of `service` whose methods run in spans named `<prefix>.<method>`. By default a first
 * argument that is a UUID becomes `stratum.tenant_id`; pass `attributes` to say more (e.g. the
 * tenant's isolation strategy). Methods returning a promise are spanned until it settles; others
 * (async iterables) only for the call itself. Without a provider each call costs one check.
 */
export function traceService<T extends object>(
  prefix: string,
  service: T,
  attributes?: (method: string, args: readonly unknown[]) => StratumSpanAttributes,
): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(service)) {
    if (typeof value !== "function") {
      out[key] = value;
      continue;
    }
    const method = value as (...args: unknown[]) => unknown;
    const name = `${prefix}.${key}`;
    out[key] = (...args: unknown[]) => {
      if (activeTracer() === undefined) return method.apply(service, args);
      const first = args[0];
      const attrs = attributes ? attributes(key, args) : typeof first === "string" && UUID_RE.test(first) ? { tenantId: first } : {};
      return withSpan(name, attrs, () => method.apply(service, args));
    };
  }
  return out as T;
}
