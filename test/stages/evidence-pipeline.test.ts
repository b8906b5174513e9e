// The evidence stage through real BullMQ queues, Redis and Postgres: only the
// evidence consumer runs, so a run that passes evidence waits at `voice`.
// URL sources are served by a local HTTP double that can change, fail or hang.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createLogger,
  createRuntime,
  createWorkerHost,
  loadConfig,
  runOperatorAction,
  submitRun,
  type RunDetail,
  type Runtime,
  type WorkerHost,
} from '@rayvault/shared';
import { loadSample, readBreakers, SAMPLES_DIR } from '@rayvault/shared';
import { createEvidenceProcessor, evidenceConfigSchema } from '@rayvault/evidence-worker';
import { startSourceServer, type SourceServer } from '../fixtures/sources/source-server';
import { createTestEnv, ROOT, waitFor, type TestEnv } from '../support/harness';

type Claim = { field: string; value: string; source: string; tier: number; attempt: number };

let t: TestEnv;
let rt: Runtime;
let host: WorkerHost;
let web: SourceServer;

beforeAll(async () => {
  t = await createTestEnv('evidence');
  // Long enough for a loaded CI machine to serve a loopback page, short enough for the hanging source.
  const config = loadConfig(
    {
      ...t.env,
      RAYVAULT_EVIDENCE_FETCH_TIMEOUT_MS: '1000',
      RAYVAULT_EVIDENCE_RETRY_BASE_MS: '20',
      RAYVAULT_EVIDENCE_BREAKER_COOLDOWN_MS: '60000',
      // The page double listens on loopback, which the fetcher refuses unless allowed.
      RAYVAULT_FETCH_ALLOW: '127.0.0.1',
    },
    { schema: evidenceConfigSchema, useDotenv: false },
  );
  rt = createRuntime(config, createLogger('w-evidence', config.RAYVAULT_LOG_LEVEL), { workerId: 'w-evidence' });
  host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt, config) }, concurrency: 4 });
  await host.start();
  web = await startSourceServer();
});
afterAll(async () => {
  await host.close(1000);
  await rt.releasers.close();
  await web.close();
});

const samplePage = (file: string) => readFileSync(path.join(SAMPLES_DIR, file), 'utf8');
const runOf = async (id: string) => (await rt.store.getRun(id))!;
const until = (id: string, what: string, ok: (r: RunDetail) => boolean) =>
  waitFor(
    `run ${id} ${what}`,
    async () => {
      const r = await runOf(id);
      return ok(r) ? r : null;
    },
    20000,
  );
const claimsOf = (id: string, attempt?: number) =>
  rt.store.rpc('rv_evidence_claims', { p_run: id, p_attempt: attempt ?? null }) as Promise<Claim[]>;
const events = (r: RunDetail, type: string) => r.events.filter((e) => e.type === type);

it('rayvault runs create --sample consistent: evidence done, claims stored with source and tier', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'cli/src/main.ts', 'runs', 'create', '--sample', 'consistent', '--json'],
    { cwd: ROOT, env: { ...process.env, ...t.env } },
  );
  // (With --json the CLI prints the run; without it, "run <id> queued": either way the id is the first UUID.)
  const id = stdout.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)![0];
  const run = await until(id, 'past evidence', (r) => r.stage === 'voice');
  expect(run.stages.find((s) => s.stage === 'evidence')!.status).toBe('done');
  const evidence = run.output.evidence as {
    product: unknown;
    script: unknown[];
    sources: Array<{ ok: boolean; from: string }>;
  };
  expect(evidence.product).toEqual({
    name: 'VoltGo 65W USB-C GaN Charger',
    brand: 'VoltGo',
    model: 'VG-65C',
    price: 49.9,
    currency: 'EUR',
    image: 'https://voltgo.example/img/vg65-front.jpg',
  });
  expect(evidence.sources.map((s) => [s.ok, s.from])).toEqual([
    [true, 'file'],
    [true, 'file'],
    [true, 'file'],
  ]);
  const claims = await claimsOf(id);
  expect(claims).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        field: 'price',
        value: '49.90 EUR',
        source: 'VoltGo official store',
        tier: 5,
        attempt: 1,
      }),
      expect.objectContaining({ field: 'price', value: '49.90 EUR', source: 'shop.example', tier: 4, attempt: 1 }),
      expect.objectContaining({ field: 'price', value: '54.99 USD', source: 'review blog', tier: 2 }),
      expect.objectContaining({ field: 'voltage', value: '100-240V', source: 'shop.example' }),
      expect.objectContaining({ field: 'ean', value: '7891000123454', source: 'VoltGo official store' }),
    ]),
  );
  expect(events(run, 'claims_recorded').map((e) => e.payload)).toEqual([
    expect.objectContaining({ attempt: 1, claims: claims.length }),
  ]);
});

it('the conflict sample stops at waiting_approval with the price diff; approve moves on without re-running evidence', async () => {
  const run = await submitRun(rt, { product: await loadSample('conflict'), actor: 'test' });
  const gated = await until(run.id, 'gated', (r) => r.status === 'waiting_approval');
  expect(events(gated, 'gate_opened')[0].payload).toMatchObject({
    diff: [
      {
        field: 'price',
        values: [
          { source: 'VoltGo official store', tier: 5, value: '54.90 EUR' },
          { source: 'shop.example', tier: 4, value: '49.90 EUR' },
        ],
      },
    ],
    summary:
      'tier 4/5 sources disagree on price: 54.90 EUR (VoltGo official store, tier 5) vs 49.90 EUR (shop.example, tier 4)',
  });
  await runOperatorAction(rt, {
    runId: run.id,
    action: 'approve',
    actor: 'ray',
    reason: 'the shop price is a promotion',
    expected: 'waiting_approval',
  });
  const approved = await runOf(run.id);
  expect(approved).toMatchObject({ status: 'approved', stage: 'voice' });
  expect(events(approved, 'stage_claimed').filter((e) => e.payload.stage === 'evidence')).toHaveLength(1);
});

it('refetch bypasses the page cache and records a new claims attempt; without it the cache answers', async () => {
  const maker = (price: string) => samplePage('conflict/manufacturer.html').replace('"54.90"', `"${price}"`);
  web.set('/maker', { body: maker('54.90') });
  web.set('/shop', { body: samplePage('conflict/retailer.html') });
  const product = {
    name: 'VoltGo charger',
    sources: [
      { url: web.url('/maker'), tier: 5, name: 'maker' },
      { url: web.url('/shop'), tier: 4, name: 'shop' },
    ],
  };
  const first = await submitRun(rt, { product, actor: 'test' });
  await until(first.id, 'gated', (r) => r.status === 'waiting_approval');
  const second = await submitRun(rt, { product, actor: 'test' });
  await until(second.id, 'gated', (r) => r.status === 'waiting_approval');
  expect([web.hits('/maker'), web.hits('/shop')]).toEqual([1, 1]); // the second run read the cache

  web.set('/maker', { body: maker('49.90') }); // the maker corrects its page
  await runOperatorAction(rt, { runId: first.id, action: 'refetch', actor: 'ray', reason: 'maker updated the price' });
  const done = await until(first.id, 'past evidence', (r) => r.stage === 'voice');
  expect([web.hits('/maker'), web.hits('/shop')]).toEqual([2, 2]);
  expect(events(done, 'claims_recorded').map((e) => [e.payload.attempt, e.payload.force_refetch])).toEqual([
    [1, false],
    [2, true],
  ]);
  const price = (cs: Claim[]) =>
    cs
      .filter((c) => c.field === 'price')
      .map((c) => `${c.source}=${c.value}`)
      .sort();
  expect(price(await claimsOf(first.id, 1))).toEqual(['maker=54.90 EUR', 'shop=49.90 EUR']);
  expect(price(await claimsOf(first.id, 2))).toEqual(['maker=49.90 EUR', 'shop=49.90 EUR']);
});

it('a conflict that survives RAYVAULT_MAX_REFETCHES (2) refetches is panic_integrity_failure', async () => {
  const run = await submitRun(rt, { product: await loadSample('conflict'), actor: 'test' });
  for (let refetches = 0; refetches < 2; refetches++) {
    await until(
      run.id,
      `gate ${refetches + 1}`,
      (r) => events(r, 'gate_opened').length === refetches + 1 && r.status === 'waiting_approval',
    );
    await runOperatorAction(rt, { runId: run.id, action: 'refetch', actor: 'ray', reason: 'try again' });
  }
  const panicked = await until(run.id, 'panicked', (r) => r.status === 'panic');
  expect(panicked.panic_kind).toBe('panic_integrity_failure');
  expect(panicked.worker_last_error).toMatch(
    /^panic_integrity_failure: tier 4\/5 sources disagree on price: 54\.90 EUR .* still in conflict after 2 refetch/,
  );
  expect(events(panicked, 'panic_integrity_failure')[0].payload.details).toMatchObject({
    diff: [expect.objectContaining({ field: 'price' })],
  });
  expect(events(panicked, 'claims_recorded').map((e) => e.payload.attempt)).toEqual([1, 2, 3]);
});

it('a source host that is down: retries, the circuit opens, the run fails saying so', async () => {
  const down = await startSourceServer({ '/maker': { status: 500, body: 'upstream exploded' }, '/shop': 'hang' });
  try {
    const product = {
      name: 'Unreachable',
      sources: [
        { url: down.url('/maker'), tier: 5, name: 'maker' },
        { url: down.url('/shop'), tier: 4, name: 'shop' },
      ],
    };
    const run = await submitRun(rt, { product, actor: 'test' });
    const failed = await until(run.id, 'failed', (r) => r.status === 'failed');
    expect(failed.worker_last_error).toMatch(
      /^no tier 4\/5 source answered \(maker: circuit open for 127\.0\.0\.1:\d+: \d+ s of cooldown left .*; shop: /,
    );
    const failures = events(failed, 'ingestion_failure').map(
      (e) => e.payload as { source: string; reason: string; error: string },
    );
    expect(new Set(failures.map((f) => f.source))).toEqual(new Set(['maker', 'shop']));
    expect(
      failures.every((f) => f.reason === 'circuit_open' || f.reason === 'http_5xx' || f.reason === 'timeout'),
    ).toBe(true);
    expect(failures.some((f) => /answered HTTP 500/.test(f.error))).toBe(true);
    // The open circuit spared the host: three tries in the first attempt, none in the BullMQ retries.
    expect(down.hits('/maker')).toBeLessThanOrEqual(3);
    const breaker = (await readBreakers(rt.fastRedis, t.prefix)).find((b) => b.source === down.host)!;
    expect(breaker).toMatchObject({
      state: 'open',
      operation: 'fetch',
      last_error: expect.stringMatching(/HTTP 500|did not answer within 1000 ms/),
    });
    expect(breaker.cooldown_remaining_ms).toBeGreaterThan(0);
  } finally {
    await down.close();
  }
});
