/**
 * A minimal in-memory OpenTelemetry tracer provider and AsyncLocalStorage context manager, for the
 * telemetry tests. (@opentelemetry/sdk-trace-base 2.x declares a peer range of
 * @opentelemetry/api <1.10.0 and this project pins 1.10.0, so npm refuses it without
 * --legacy-peer-deps; these ~100 lines implement the API interfaces the test needs instead.)
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  context as contextApi,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type ContextManager,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

export interface FinishedSpan {
  name: string;
  tracer: string;
  attributes: Attributes;
  status: SpanStatus;
  events: { name: string; attributes?: Attributes }[];
  spanId: string;
  traceId: string;
  parentSpanId: string | undefined;
  ended: boolean;
}

class MemorySpan implements Span {
  readonly record: FinishedSpan;
  private readonly ctx: SpanContext;
  constructor(
    name: string,
    tracer: string,
    parent: SpanContext | undefined,
    attributes: Attributes,
    private readonly sink: FinishedSpan[],
  ) {
    this.ctx = {
      traceId: parent?.traceId ?? randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
      traceFlags: TraceFlags.SAMPLED,
    };
    this.record = {
      name,
      tracer,
      attributes: { ...attributes },
      status: { code: SpanStatusCode.UNSET },
      events: [],
      spanId: this.ctx.spanId,
      traceId: this.ctx.traceId,
      parentSpanId: parent?.spanId,
      ended: false,
    };
  }
  spanContext(): SpanContext {
    return this.ctx;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.record.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.record.attributes, attributes);
    return this;
  }
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput): this {
    const attributes =
      attributesOrTime && typeof attributesOrTime === "object" && !(attributesOrTime instanceof Date) && !Array.isArray(attributesOrTime)
        ? (attributesOrTime as Attributes)
        : undefined;
    this.record.events.push(attributes ? { name, attributes } : { name });
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.record.status = status;
    return this;
  }
  updateName(name: string): this {
    this.record.name = name;
    return this;
  }
  end(): void {
    if (this.record.ended) return;
    this.record.ended = true;
    this.sink.push(this.record);
  }
  isRecording(): boolean {
    return !this.record.ended;
  }
  recordException(exception: Exception): void {
    const message = typeof exception === "string" ? exception : (exception.message ?? "");
    this.record.events.push({ name: "exception", attributes: { "exception.message": message } });
  }
}

class MemoryTracer implements Tracer {
  constructor(
    private readonly name: string,
    private readonly sink: FinishedSpan[],
  ) {}
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    const parent = options.root ? undefined : trace.getSpan(ctx)?.spanContext();
    return new MemorySpan(name, this.name, parent, options.attributes ?? {}, this.sink);
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length >= 2 ? args[0] : {}) as SpanOptions;
    const ctx = (args.length >= 3 ? args[1] : contextApi.active()) as Context;
    const span = this.startSpan(name, options, ctx);
    return contextApi.with(trace.setSpan(ctx, span), (s: Span) => fn(s), undefined, span) as ReturnType<F>;
  }
}

export class InMemoryTracerProvider implements TracerProvider {
  readonly spans: FinishedSpan[] = [];
  getTracer(name: string): Tracer {
    return new MemoryTracer(name, this.spans);
  }
}

export class AlsContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const run = (...args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}
