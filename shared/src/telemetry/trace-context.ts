import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

/**
 * The only tracing calls the rest of RayVault makes, on the OpenTelemetry API
 * alone. With no SDK started (no OTLP endpoint), every tracer, propagator and
 * context manager here is the API's no-op: a span is a shared non-recording
 * object, `traceparent` is undefined, and nothing is allocated per call.
 */
const tracer = () => trace.getTracer('rayvault');

/**
 * Whether an SDK records spans (set by startTelemetry). Off, inSpan runs its function with the API's shared
 * non-recording span and skips the no-op tracer's context copy and closure: a stage try costs what it did
 * before tracing existed.
 */
let recording = false;
const NOT_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Called by startTelemetry once the SDK is started (true) and when it is shut down (false). */
export function setRecording(on: boolean): void {
  recording = on;
}

/** Errors that end a span without marking it failed (a postponed job is not a failure). */
const notFailures = new Set(['DelayedError', 'WaitingChildrenError', 'RateLimitError']);

export type SpanOptions = {
  attributes?: Attributes;
  /** Parent context; default the active one. */
  parent?: Context;
  /** Start a new trace (a run's own), linked to whatever span was active. */
  root?: boolean;
  /** Link the span that was active (the request acting on a run whose trace is `parent`). */
  linkActive?: boolean;
};

/** Runs `fn` inside a new active span, ended when it settles; a thrown error is recorded on it. */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!recording) {
    try {
      return fn(NOT_RECORDING);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const parent = options.parent ?? context.active();
  const active = options.root || options.linkActive ? trace.getSpan(context.active())?.spanContext() : undefined;
  const links: Link[] = active && isSpanContextValid(active) ? [{ context: active }] : [];
  return tracer().startActiveSpan(
    name,
    { attributes: options.attributes, root: options.root, links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        if (notFailures.has(e.name)) span.setAttribute('rayvault.outcome', 'postponed');
        else {
          span.recordException(e);
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
        }
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** The W3C `traceparent` of the active span, to carry in a job; undefined when tracing is off. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a job's `traceparent` names (the root context without one). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Trace and span id of the active span, for log lines; empty when there is none. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpan(context.active())?.spanContext();
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** The active trace id (stored on a new run), or null when tracing is off. */
export function currentTraceId(): string | null {
  return activeTraceIds().trace_id ?? null;
}

/** The active context, for work done later on its behalf (a queued store call); undefined when tracing is off. */
export function activeContext(): Context | undefined {
  return recording ? context.active() : undefined;
}

/** Runs `fn` under `ctx` (the root one for `'root'`: no span of anyone's); as it is when tracing is off. */
export function withContext<T>(ctx: Context | 'root' | undefined, fn: () => T): T {
  if (!recording || !ctx) return fn();
  return context.with(ctx === 'root' ? ROOT_CONTEXT : ctx, fn);
}

/** An event on the active span (retry, takeover, gate…): a no-op without one. */
export function spanEvent(name: string, attributes?: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Attributes on the active span, learnt after it started (the fence once the stage is claimed). */
export function spanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
