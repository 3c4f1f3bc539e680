import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { activeTracer, isTracingEnabled, traceService, withSpan } from "../src/telemetry/index.js";
import { AlsContextManager, InMemoryTracerProvider } from "./support/compliance-tracer.js";

const tenantId = "6f1c2a8e-0d7b-4c39-9a51-2b0e7c4d5f60";

afterAll(() => {
  trace.disable();
  context.disable();
});

describe("without a provider", () => {
  it("records nothing and calls fn directly", async () => {
    expect(isTracingEnabled()).toBe(false);
    expect(activeTracer()).toBeUndefined();
    let seen: unknown = "unset";
    const result = await withSpan("stratum.test", { tenantId }, async (span) => {
      seen = span;
      return 7;
    });
    expect(result).toBe(7);
    expect(seen).toBeUndefined();
    expect(withSpan("sync", {}, () => "s")).toBe("s");
  });
});

describe("with a registered provider", () => {
  const provider = new InMemoryTracerProvider();

  it("delivers spans with the stratum attributes to the registered tracer", async () => {
    context.setGlobalContextManager(new AlsContextManager());
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    expect(isTracingEnabled()).toBe(true);

    const value = await withSpan(
      "stratum.config.resolve",
      { tenantId, isolationStrategy: "SHARED_RLS", "db.operation.name": "select", skipped: undefined },
      async (span) => {
        expect(span).toBeDefined();
        await new Promise((r) => setTimeout(r, 1));
        return "ok";
      },
    );
    expect(value).toBe("ok");
    const span = provider.spans.find((s) => s.name === "stratum.config.resolve");
    expect(span).toMatchObject({
      tracer: "stratum-prisma",
      ended: true,
      attributes: { "stratum.tenant_id": tenantId, "stratum.isolation_strategy": "SHARED_RLS", "db.operation.name": "select" },
    });
    expect(span!.attributes).not.toHaveProperty("skipped");
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("records exceptions, sync and async, and rethrows them", async () => {
    await expect(
      withSpan("stratum.fails.async", { tenantId }, async () => {
        throw new Error("async boom");
      }),
    ).rejects.toThrow("async boom");
    expect(() =>
      withSpan("stratum.fails.sync", { tenantId }, () => {
        throw new Error("sync boom");
      }),
    ).toThrow("sync boom");
    for (const [name, message] of [
      ["stratum.fails.async", "async boom"],
      ["stratum.fails.sync", "sync boom"],
    ] as const) {
      const span = provider.spans.find((s) => s.name === name)!;
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.events).toContainEqual({ name: "exception", attributes: { "exception.message": message } });
      expect(span.ended).toBe(true);
    }
  });

  it("nests: a span started inside another is its child", async () => {
    await withSpan("stratum.tenant.transaction", { tenantId }, async () => {
      await withSpan("stratum.query", { tenantId, isolationStrategy: "SCHEMA" }, async () => undefined);
    });
    const parent = provider.spans.find((s) => s.name === "stratum.tenant.transaction")!;
    const child = provider.spans.find((s) => s.name === "stratum.query")!;
    expect(child.parentSpanId).toBe(parent.spanId);
    expect(child.traceId).toBe(parent.traceId);
  });

  it("stops recording when the provider is removed", async () => {
    trace.disable();
    const before = provider.spans.length;
    await withSpan("after.disable", { tenantId }, async () => 1);
    expect(provider.spans.length).toBe(before);
    expect(isTracingEnabled()).toBe(false);
  });
});

describe("traceService", () => {
  it("wraps every method in a span named after it, tenant id from the first argument", async () => {
    const provider = new InMemoryTracerProvider();
    context.setGlobalContextManager(new AlsContextManager());
    trace.setGlobalTracerProvider(provider);
    try {
      const service = traceService("stratum.config", {
        resolveConfig: async (id: string) => ({ id }),
        version: 3,
      });
      expect(await service.resolveConfig(tenantId)).toEqual({ id: tenantId });
      expect(service.version).toBe(3);
      expect(provider.spans).toEqual([expect.objectContaining({ name: "stratum.config.resolveConfig", attributes: { "stratum.tenant_id": tenantId } })]);
    } finally {
      trace.disable();
    }
  });
});
