// Tracing across processes: the built services (dist/, npm packages required
// by path as in production) export to an OTLP/HTTP receiver double on
// loopback. The ops API creating the run exports OTLP/JSON, the workers
// OTLP/protobuf. A `consistent` sample through the real evidence and render
// workers must come out as one trace: the API's run.create span as root, the
// four stage spans and their steps under it with parents crossing processes,
// pg and Redis spans inside, the trace id on the run and on its log lines.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createLogger, loadSample, startTelemetry, submitRun } from '@rayvault/shared';
import { formatAlert } from '@rayvault/notifier';
import { alertSchema } from '@rayvault/shared';
import {
  startOtlpReceiverDouble,
  type OtlpReceiverDouble,
  type ReceivedSpan,
} from '../fixtures/otlp/otlp-receiver-double';
import { createTestEnv, freePort, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';

jest.setTimeout(240_000);

type Proc = { name: string; proc: ChildProcess; out: () => string; exited: Promise<number | null> };
const TOKEN = 'tracing-test-admin-token-0123456789';

function start(name: string, env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', `${name}.js`)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { name, proc, out: () => out, exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('one trace per run across the API, the evidence worker and the render worker', () => {
  let t: TestEnv;
  let otlp: OtlpReceiverDouble;
  let procs: Proc[] = [];

  let inherited: Record<string, string>;
  let call: (method: string, url: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

  beforeAll(async () => {
    otlp = await startOtlpReceiverDouble();
    t = await createTestEnv('tracing');
    const apiPort = await freePort();
    inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(SUPABASE_URL|REDIS_URL|DATABASE_URL|OTEL_.*)$/.test(k)),
    ) as Record<string, string>;
    const base = {
      ...inherited,
      ...t.env,
      RAYVAULT_LOG_LEVEL: 'info',
      RAYVAULT_API_PORT: String(apiPort),
      RAYVAULT_ADMIN_TOKEN: TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    procs = [
      start('ops-api', { ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
      start('evidence-worker', { ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }),
      start('render-worker', { ...base }),
    ];
    for (const [p, ready] of [
      [procs[0], 'ops-api listening'],
      [procs[1], 'worker started'],
      [procs[2], 'render worker ready'],
    ] as const) {
      await waitFor(
        `${p.name} ready`,
        () => p.out().includes(`"msg":"${ready}"`) || (p.proc.exitCode !== null && Promise.reject(new Error(p.out()))),
        90_000,
        200,
      );
    }
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${apiUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
  });
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await otlp?.close();
  });
  const settled = (runId: string, want: string) =>
    waitFor(
      `run ${want}`,
      async () => {
        const r = await call('GET', `/api/runs/${runId}`);
        if (['panic', 'failed', 'aborted'].includes(r.body.status as string))
          throw new Error(`run ended ${String(r.body.status)}`);
        return r.body.status === want && r.body;
      },
      180_000,
      300,
    );

  it('a consistent sample: run.create is the root, every stage and step is a span of its trace, parents cross processes, logs carry the trace id', async () => {
    const created = await call('POST', '/api/runs', { sample: 'consistent' });
    expect(created.status).toBe(201);
    const runId = created.body.id as string;
    const traceId = created.body.trace_id as string;
    // The trace id is on the run as the API returns it, at creation and after.
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const done = await settled(runId, 'done');
    expect(done.trace_id).toBe(traceId);
    // …and as `rayvault run <id> --json` prints it.
    const cli = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'run', runId, '--json'], {
        cwd: ROOT,
        env: { ...inherited, ...t.env },
        encoding: 'utf8',
      }),
    ) as { trace_id: string };
    expect(cli.trace_id).toBe(traceId);

    // Spans are exported once ended, within the batch delay (200 ms here).
    await waitFor('qc exported', () => otlp.spans.some((s) => s.traceId === traceId && s.name === 'stage qc'), 20_000);
    const spans = otlp.spans.filter((s) => s.traceId === traceId);
    const named = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string): ReceivedSpan => {
      const found = named(name).filter((s) => s.attributes['rayvault.outcome'] === undefined);
      expect(found.map((s) => s.name)).toEqual([name]);
      return found[0]!;
    };

    // Both bodies of the protocol were spoken, and decoded to the same spans.
    expect(new Set(spans.map((s) => s.encoding))).toEqual(new Set(['json', 'protobuf']));

    // The root: the API process's run.create, with no parent, linked to the HTTP request it served.
    const rootSpan = one('run.create');
    expect(rootSpan.parentSpanId).toBe('');
    expect(rootSpan.process).toBe('ops-api');
    expect(rootSpan.service).toBe('rayvault-ops-api');
    expect(rootSpan.attributes['rayvault.run_id']).toBe(runId);
    expect(rootSpan.links).toHaveLength(1);
    expect(
      otlp.spans.find((s) => s.spanId === rootSpan.links[0]!.spanId)?.attributes['http.route'] ??
        otlp.spans.find((s) => s.spanId === rootSpan.links[0]!.spanId)?.name,
    ).toBeTruthy();

    // Each stage: one span from the process that ran it, child of the span that queued it.
    const evidence = one('stage evidence');
    const voice = one('stage voice');
    const render = one('stage render');
    const qc = one('stage qc');
    expect([evidence, voice, render, qc].map((s) => s.process)).toEqual([
      'evidence-worker',
      'render-worker',
      'render-worker',
      'render-worker',
    ]);
    expect(evidence.parentSpanId).toBe(rootSpan.spanId);
    expect(voice.parentSpanId).toBe(evidence.spanId);
    expect(render.parentSpanId).toBe(voice.spanId);
    expect(qc.parentSpanId).toBe(render.spanId);
    for (const s of [evidence, voice, render, qc]) {
      expect(s.attributes).toMatchObject({ 'rayvault.run_id': runId, 'rayvault.attempt': 1 });
      expect(typeof s.attributes['rayvault.fence']).toBe('number');
      expect(typeof s.attributes['rayvault.worker_id']).toBe('string');
      expect(s.statusCode).not.toBe(2);
    }

    // Steps: every step span hangs under its own stage's span; the stages that do media work have them,
    // and each checkpoint the database kept for the run has its span.
    const stepSpans = spans.filter((s) => s.name.startsWith('step '));
    const stageSpan: Record<string, ReceivedSpan> = { evidence, voice, render, qc };
    for (const s of stepSpans)
      expect({ step: s.name, parent: s.parentSpanId }).toEqual({
        step: s.name,
        parent: stageSpan[s.attributes['rayvault.stage'] as string]!.spanId,
      });
    for (const stage of ['evidence', 'voice', 'render'])
      expect(stepSpans.filter((s) => s.attributes['rayvault.stage'] === stage).length).toBeGreaterThan(0);
    for (const st of done.stages as { stage: string; steps: Record<string, unknown> | null }[]) {
      for (const step of Object.keys(st.steps ?? {}))
        expect(stepSpans.some((s) => s.name === `step ${step}` && s.attributes['rayvault.stage'] === st.stage)).toBe(
          true,
        );
    }

    // Store calls and Redis commands of the run are spans of its trace, from the kept instrumentations.
    const scopes = (proc: string) => spans.filter((s) => s.process === proc);
    expect(
      scopes('evidence-worker').some(
        (s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql',
      ),
    ).toBe(true);
    expect(
      scopes('render-worker').some(
        (s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis',
      ),
    ).toBe(true);
    // A Redis span names its command and the key it works on, never the arguments: a BullMQ script's
    // arguments are the job's data and options, which do not belong in a trace (nor cost its export).
    const redisTexts = spans
      .filter((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis')
      .map((s) => String(s.attributes['db.query.text'] ?? s.attributes['db.statement']));
    expect(redisTexts.some((q) => /^evalsha \S+$/.test(q))).toBe(true);
    for (const q of redisTexts) expect(q).toMatch(/^[a-z]+( \S+)?$/);

    // Every log line the workers wrote about the run while handling it carries its trace id.
    const runLines = procs
      .slice(1)
      .flatMap((p) => jsonLines(p.out()))
      .filter((l) => l.runId === runId && ['stage started', 'stage completed', 'run done'].includes(l.msg as string));
    expect(runLines.length).toBeGreaterThanOrEqual(4);
    for (const l of runLines) {
      expect(l.trace_id).toBe(traceId);
      expect(l.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("a gate and its approval: the gate is an event of the evidence span, the approval a span of the run's trace that parents the next stage", async () => {
    const created = await call('POST', '/api/runs', { sample: 'conflict' });
    const runId = created.body.id as string;
    const traceId = created.body.trace_id as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await settled(runId, 'waiting_approval');
    // The approval comes through the API in a request of its own (its own HTTP trace).
    expect((await call('POST', `/api/runs/${runId}/approve`, { reason: 'checked the price by hand' })).status).toBe(
      200,
    );
    await settled(runId, 'done');
    await waitFor('qc exported', () => otlp.spans.some((s) => s.traceId === traceId && s.name === 'stage qc'), 20_000);
    const spans = otlp.spans.filter((s) => s.traceId === traceId);
    const root = spans.find((s) => s.name === 'run.create')!;
    const evidence = spans.find((s) => s.name === 'stage evidence' && s.events.some((e) => e.name === 'gate opened'))!;
    expect(evidence.parentSpanId).toBe(root.spanId);
    expect(evidence.events.find((e) => e.name === 'gate opened')!.attributes).toMatchObject({
      'rayvault.worker_id': evidence.attributes['rayvault.worker_id'],
      'rayvault.fence': evidence.attributes['rayvault.fence'],
    });
    const approve = spans.find((s) => s.name === 'run.approve')!;
    expect(approve).toMatchObject({ process: 'ops-api', parentSpanId: root.spanId });
    expect(approve.attributes['rayvault.run_id']).toBe(runId);
    // Linked to the API request that approved, which is not part of the run's trace.
    expect(approve.links).toHaveLength(1);
    expect(approve.links[0]!.traceId).not.toBe(traceId);
    const voice = spans.find((s) => s.name === 'stage voice')!;
    expect(voice.parentSpanId).toBe(approve.spanId);
    expect(spans.find((s) => s.name === 'stage qc')).toBeDefined();
  });
});

describe('with no OTLP endpoint set, tracing costs nothing', () => {
  it('loads no SDK, stores no trace id and writes no trace fields in logs', async () => {
    const t = await createTestEnv('tracing-off');
    // In a fresh process: which OpenTelemetry SDK modules does starting load, without and with an endpoint?
    const probe = (env: Record<string, string>) =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `
      const { startTelemetry, shutdownTelemetry } = require('./shared/src/telemetry/start-telemetry.ts');
      startTelemetry('probe', process.env).then(async (on) => {
        const loaded = Object.keys(require.cache).filter((k) => /@opentelemetry[\\/](sdk-|instrumentation)/.test(k)).length;
        await shutdownTelemetry();
        console.log(JSON.stringify({ on, loaded }));
      });`,
        ],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
      );
    expect(JSON.parse(probe({}))).toEqual({ on: false, loaded: 0 });
    const withEndpoint = JSON.parse(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })) as {
      on: boolean;
      loaded: number;
    };
    expect(withEndpoint.on).toBe(true);
    expect(withEndpoint.loaded).toBeGreaterThan(0);
    const rt = testRuntime(t);
    try {
      const lines: string[] = [];
      const log = createLogger('t', 'info', { write: (s: string) => void lines.push(s) });
      const run = await submitRun({ ...rt, log }, { product: await loadSample('consistent'), actor: 'test' });
      log.info({ runId: run.id }, 'created');
      expect(run.trace_id).toBeNull();
      const job = await rt.queues.evidence.getJob(`${run.id}:evidence:${run.attempt}`);
      expect(job?.data).toEqual({ runId: run.id, stage: 'evidence', attempt: run.attempt });
      expect(lines.join('')).not.toContain('trace_id');
    } finally {
      await rt.releasers.close();
    }
  });
});

describe('a mistyped OpenTelemetry variable stops the process with its reason', () => {
  it('refuses an unknown sampler or protocol and a malformed endpoint, naming the variable', async () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    await expect(startTelemetry('t', { ...endpoint, OTEL_TRACES_SAMPLER: 'parentbased_alwayson' })).rejects.toThrow(
      /OTEL_TRACES_SAMPLER.*unset the variable/,
    );
    await expect(startTelemetry('t', { ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/proto' })).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL/,
    );
    await expect(startTelemetry('t', { OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318' })).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe('a Telegram alert about a run names its trace', () => {
  it('formats the trace id line', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const text = formatAlert(
      alertSchema.parse({
        kind: 'gate',
        runId: '6f1c2f5e-8c1d-4c55-9a65-1d3f0c9b7e21',
        title: 'GATE',
        text: 'x',
        dedupeKey: 'k',
        traceId,
      }),
    );
    expect(text).toContain(`trace <code>${traceId}</code>`);
  });
});
