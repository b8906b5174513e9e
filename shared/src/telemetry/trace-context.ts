import {
  context,
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
  const parent = options.parent ?? context.active();
  const active = trace.getSpan(context.active())?.spanContext();
  const links: Link[] =
    (options.root || options.linkActive) && active && isSpanContextValid(active) ? [{ context: active }] : [];
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

/** An event on the active span (retry, takeover, gate…): a no-op without one. */
export function spanEvent(name: string, attributes?: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Attributes on the active span, learnt after it started (the fence once the stage is claimed). */
export function spanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
