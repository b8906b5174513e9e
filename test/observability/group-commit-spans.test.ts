// Group commit and traces: a lane sends calls on behalf of whoever started it,
// so each call must carry its own caller's context. A call sent alone gets its
// span in its own run's trace; a grouped call gets one span per call, each in
// its caller's trace, and the group's query belongs to no run's trace.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { withGroupCommit, type GroupedCall } from '../../shared/src/store/group-commit';
import { inSpan, setRecording } from '../../shared/src/telemetry/trace-context';

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  setRecording(true);
});
afterAll(() => setRecording(false));

/** The trace each fake query ran in (what the pg instrumentation would parent its span to). */
function world() {
  const queriedIn: Array<{ what: string; traceId: string | undefined }> = [];
  const active = () => trace.getSpan(context.active())?.spanContext().traceId;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const alone = async (fn: string, args: Record<string, unknown>) => {
    queriedIn.push({ what: `${fn} ${String(args.p_run)}`, traceId: active() });
    if (args.p_run === 'first') await gate; // keeps the only lane busy while the others queue
    return { ok: args.p_run };
  };
  const group = async (calls: GroupedCall[]) => {
    queriedIn.push({ what: `group of ${calls.length}`, traceId: active() });
    return calls.map((c) => ({ r: { ok: c.args.p_run } }));
  };
  const rpc = withGroupCommit(
    alone,
    group,
    (e) => e,
    () => 1,
  );
  return { rpc, queriedIn, release };
}

/** `fn` inside a new trace of its own (a run's stage try); returns that trace's id. */
const inRun = (name: string, fn: () => Promise<unknown>) =>
  inSpan(`stage ${name}`, { root: true }, async (span: Span) => {
    await fn();
    return span.spanContext().traceId;
  });

it('queued calls are sent under their own callers: one span per grouped call in its run, the group in none', async () => {
  const { rpc, queriedIn, release } = world();
  const traces: Record<string, Promise<string>> = {};
  traces.first = inRun('first', () => rpc('rv_hand_off', { p_run: 'first' }));
  await new Promise((r) => setImmediate(r));
  for (const run of ['a', 'b']) traces[run] = inRun(run, () => rpc('rv_hand_off', { p_run: run }));
  await new Promise((r) => setImmediate(r));
  release();
  const ids = Object.fromEntries(await Promise.all(Object.entries(traces).map(async ([k, p]) => [k, await p])));

  expect(queriedIn).toEqual([
    { what: 'rv_hand_off first', traceId: ids.first },
    // Sent by the lane the first call started, but not in the first run's trace.
    { what: 'group of 2', traceId: undefined },
  ]);
  const grouped = exporter.getFinishedSpans().filter((s) => s.name === 'pg.query:rv_group rv_hand_off');
  expect(grouped.map((s) => s.spanContext().traceId).sort()).toEqual([ids.a, ids.b].sort());
  expect(grouped.every((s) => s.attributes['rayvault.group_size'] === 2)).toBe(true);
});

it('a call queued behind a busy lane and then sent alone runs in its own trace', async () => {
  const { rpc, queriedIn, release } = world();
  const first = inRun('first', () => rpc('rv_hand_off', { p_run: 'first' }));
  await new Promise((r) => setImmediate(r));
  const second = inRun('second', () => rpc('rv_checkpoint', { p_run: 'second' }));
  await new Promise((r) => setImmediate(r));
  release();
  const [, secondTrace] = await Promise.all([first, second]);
  expect(queriedIn[1]).toEqual({ what: 'rv_checkpoint second', traceId: secondTrace });
});
