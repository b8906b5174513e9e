// Reading URL sources: retries with backoff, permanent errors, the per-host
// circuit breaker and its state in Redis, the page cache and its bypass.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Runtime } from '@rayvault/shared';
import { parseFetchAllow, readBreakers } from '@rayvault/shared';
import { createBreakers } from '../../services/evidence-worker/src/fetch/breakers';
import { createContentCache } from '../../services/evidence-worker/src/fetch/content-cache';
import { createSourceReader } from '../../services/evidence-worker/src/fetch/source-reader';
import { startSourceServer, type SourceServer } from '../fixtures/sources/source-server';
import { createTestEnv, testRuntime, type TestEnv } from '../support/harness';

let t: TestEnv;
let rt: Runtime;
let web: SourceServer;
// The page double listens on loopback, which the fetcher refuses unless allowed (as an operator would allow an intranet
// host).
const LOOPBACK = parseFetchAllow('127.0.0.1');
const PAGE = '<html><head><meta property="og:price:amount" content="10.00"></head></html>';

beforeAll(async () => {
  t = await createTestEnv('evidence-fetch');
  rt = testRuntime(t, 'evidence-fetch');
  web = await startSourceServer();
});
afterAll(async () => {
  await rt.releasers.close();
  await web.close();
});

// A loopback page answers in milliseconds, but a loaded CI machine has been seen to take over 300 ms:
// only the test of a source that never answers uses a short timeout.
function reader(o: { cooldownMs?: number; retries?: number; ttlMs?: number; timeoutMs?: number } = {}) {
  const breakers = createBreakers({
    redis: rt.fastRedis,
    prefix: t.prefix,
    log: rt.log,
    cooldownMs: o.cooldownMs ?? 60_000,
    volumeThreshold: 3,
  });
  const cache = createContentCache(mkdtempSync(path.join(os.tmpdir(), 'ev-cache-')), o.ttlMs ?? 60_000);
  return {
    breakers,
    r: createSourceReader({
      breakers,
      cache,
      timeoutMs: o.timeoutMs ?? 5000,
      retries: o.retries ?? 2,
      retryBaseMs: 10,
      maxBytes: 1 << 20,
      allow: LOOPBACK,
    }),
  };
}
const read = (r: ReturnType<typeof reader>['r'], url: string, forceRefetch = false) =>
  r.read({ url, tier: 4 }, { signal: new AbortController().signal, forceRefetch, log: rt.log, label: url });

it('a transient 503 is retried with backoff and the page then read; the next read comes from the cache', async () => {
  web.set('/flaky', [{ status: 503 }, { status: 502 }, { body: PAGE }]);
  const { r, breakers } = reader();
  await expect(read(r, web.url('/flaky'))).resolves.toMatchObject({ from: 'network', body: PAGE });
  await expect(read(r, web.url('/flaky'))).resolves.toMatchObject({ from: 'cache', body: PAGE });
  await expect(read(r, web.url('/flaky'), true)).resolves.toMatchObject({ from: 'network' });
  expect(web.hits('/flaky')).toBe(4);
  breakers.shutdown();
});

it('a 404 is not retried and never opens the circuit', async () => {
  const { r, breakers } = reader();
  for (let i = 0; i < 5; i++)
    await expect(read(r, web.url('/gone'))).rejects.toMatchObject({ reason: 'http_4xx', retryable: false });
  expect(web.hits('/gone')).toBe(5);
  await expect(read(r, web.url('/flaky'), true)).resolves.toMatchObject({ from: 'network' });
  breakers.shutdown();
});

it('a host that keeps failing opens its circuit; after the cooldown one trial request closes it again', async () => {
  const down = await startSourceServer({ '/p': [{ status: 500 }, { status: 500 }, { status: 500 }, { body: PAGE }] });
  const { r, breakers } = reader({ cooldownMs: 300 });
  try {
    await expect(read(r, down.url('/p'))).rejects.toMatchObject({ reason: 'http_5xx' });
    await expect(read(r, down.url('/p'))).rejects.toMatchObject({
      reason: 'circuit_open',
      message: expect.stringMatching(/last error: .*answered HTTP 500/),
    });
    expect(down.hits('/p')).toBe(3);
    const open = (await readBreakers(rt.fastRedis, t.prefix)).find((b) => b.source === down.host)!;
    expect(open).toMatchObject({ state: 'open', failures: 3, reason: 'http_5xx', cooldown_ms: 300 });
    expect(open.cooldown_remaining_ms).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 350));
    await expect(read(r, down.url('/p'))).resolves.toMatchObject({ from: 'network' });
    const closed = (await readBreakers(rt.fastRedis, t.prefix)).find((b) => b.source === down.host)!;
    expect(closed).toMatchObject({ state: 'closed', cooldown_remaining_ms: 0, last_success_at: expect.any(String) });
  } finally {
    breakers.shutdown();
    await down.close();
  }
});

it('a source that never answers times out as a transient failure', async () => {
  web.set('/hang', 'hang');
  const { r, breakers } = reader({ retries: 0, timeoutMs: 300 });
  await expect(read(r, web.url('/hang'))).rejects.toMatchObject({
    reason: 'timeout',
    retryable: true,
    message: expect.stringMatching(/did not answer within 300 ms/),
  });
  breakers.shutdown();
});
