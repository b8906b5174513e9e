// Hostile source pages must not take the evidence worker down: compression
// bombs, endless bodies, pages that make the parser or a normalizer's regex
// slow. One worker runs the hostile runs and an ordinary one side by side:
// the ordinary run finishes, memory stays bounded, the hostile runs end with
// errors that say what happened. Every page is served from loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import {
  BodyTooLargeError,
  createLogger,
  createRuntime,
  createWorkerHost,
  FetchTimeoutError,
  guardedFetch,
  loadConfig,
  parseFetchAllow,
  submitRun,
  type RunDetail,
  type Runtime,
  type WorkerHost,
} from '@rayvault/shared';
import { createEvidenceProcessor, evidenceConfigSchema } from '@rayvault/evidence-worker';
import { createTestEnv, waitFor, type TestEnv } from '../support/harness';

const MB = 1024 * 1024;
const PRICE = '<meta property="og:price:amount" content="10.00"><meta property="og:price:currency" content="EUR">';

/** A gzip stream of many identical members: `members` × 10 MB of zeros, about 10 KB each on the wire. */
function gzipBomb(members: number): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(10 * MB), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

async function brotliBomb(mb: number): Promise<Buffer> {
  const zero = Buffer.alloc(MB);
  const out: Buffer[] = [];
  const br = Readable.from(
    (function* () {
      for (let i = 0; i < mb; i++) yield zero;
    })(),
  ).pipe(zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }));
  for await (const chunk of br) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

type Hostile = { port: number; url: (p: string) => string; close: () => Promise<void> };

async function serveHostile(): Promise<Hostile> {
  const gz = gzipBomb(50); // 500 MB decoded
  const br = await brotliBomb(256);
  const regex = `<html><head>${PRICE}<meta property="product:voltage" content="1${' '.repeat(MB)}x"></head></html>`;
  // Under the 5 MB cap and far over the 1 s extraction budget: 2.8 s on a quiet 2-core machine (unclosed
  // paragraphs make the parser close each one; the closed divs of before took 1.5 s, too close to the budget).
  const slowParse = `<html><head>${PRICE}</head><body>${'<p><i>a</i>'.repeat(400_000)}</body></html>`;
  const server = http.createServer((req, res) => {
    const html = { 'content-type': 'text/html; charset=utf-8' };
    if (req.url === '/bomb.gz') return void res.writeHead(200, { ...html, 'content-encoding': 'gzip' }).end(gz);
    if (req.url === '/bomb.br') return void res.writeHead(200, { ...html, 'content-encoding': 'br' }).end(br);
    if (req.url === '/regex') return void res.writeHead(200, html).end(regex);
    if (req.url === '/slow-parse') return void res.writeHead(200, html).end(slowParse);
    if (req.url === '/ok')
      return void res
        .writeHead(200, html)
        .end(`<html><head>${PRICE}<meta property="product:voltage" content="230 V"></head></html>`);
    if (req.url === '/drip') {
      res.writeHead(200, html);
      const t = setInterval(() => res.write('<'), 50);
      return void res.on('close', () => clearInterval(t));
    }
    if (req.url === '/endless') {
      res.writeHead(200, html); // chunked, never ends: writes as fast as the client reads until it hangs up
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      return pump();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let web: Hostile;
beforeAll(async () => {
  web = await serveHostile();
});
afterAll(() => web.close());

describe('the guarded fetch reads bodies as bounded streams', () => {
  const opts = { allow: parseFetchAllow('127.0.0.1'), maxBytes: 5 * MB, timeoutMs: 5000 };

  it('a gzip bomb (500 KB on the wire, 500 MB decoded) stops at the decoded cap', async () => {
    await expect(guardedFetch(web.url('/bomb.gz'), opts)).rejects.toThrow(
      new BodyTooLargeError(web.url('/bomb.gz'), 5 * MB).message,
    );
  });

  it('a brotli bomb stops at the decoded cap', async () => {
    await expect(guardedFetch(web.url('/bomb.br'), opts)).rejects.toThrow(
      `${web.url('/bomb.br')}: body exceeds RAYVAULT_FETCH_MAX_BYTES (5242880 bytes) after decoding`,
    );
  });

  it('an endless chunked body stops at the cap', async () => {
    await expect(guardedFetch(web.url('/endless'), opts)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('a body that drips forever is cut by the deadline of the whole fetch', async () => {
    await expect(guardedFetch(web.url('/drip'), { ...opts, timeoutMs: 500 })).rejects.toThrow(
      new FetchTimeoutError(web.url('/drip'), 500).message,
    );
  });
});

describe('hostile pages and an ordinary run on one evidence worker', () => {
  let t: TestEnv;
  let rt: Runtime;
  let host: WorkerHost;
  beforeAll(async () => {
    t = await createTestEnv('hostile');
    const config = loadConfig(
      {
        ...t.env,
        RAYVAULT_FETCH_ALLOW: '127.0.0.1',
        RAYVAULT_EVIDENCE_FETCH_TIMEOUT_MS: '5000',
        RAYVAULT_EVIDENCE_EXTRACT_TIMEOUT_MS: '1000',
      },
      { schema: evidenceConfigSchema, useDotenv: false },
    );
    rt = createRuntime(config, createLogger('w-hostile', config.RAYVAULT_LOG_LEVEL), { workerId: 'w-hostile' });
    host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt, config) }, concurrency: 6 });
    await host.start();
  });
  afterAll(async () => {
    await host.close(1000);
    await rt.releasers.close();
  });

  const submit = (path: string) =>
    submitRun(rt, {
      product: { name: `Page ${path}`, sources: [{ url: web.url(path), tier: 5, name: path.slice(1) }] },
      actor: 'test',
    });
  const settled = (id: string) =>
    waitFor(
      `run ${id} to settle`,
      async () => {
        const r = await rt.store.getRun(id);
        return r && (r.status === 'failed' || r.status === 'panic' || r.stage === 'voice') ? r : null;
      },
      60_000,
    );
  const failure = (r: RunDetail) =>
    r.events.find((e) => e.type === 'ingestion_failure')?.payload as { reason: string; error: string } | undefined;

  it('the ordinary run finishes, memory stays bounded, each hostile run ends with a clear error', async () => {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    try {
      const hostile = await Promise.all(['/bomb.gz', '/bomb.br', '/endless', '/regex', '/slow-parse'].map(submit));
      const ordinary = await submit('/ok');
      const [gz, br, endless, regex, slow, ok] = await Promise.all([...hostile, ordinary].map((r) => settled(r.id)));

      expect(ok).toMatchObject({ stage: 'voice' });
      expect(ok.status).not.toMatch(/failed|panic/);
      for (const r of [gz, br, endless]) {
        expect(r.status).toBe('failed');
        expect(failure(r)).toMatchObject({
          reason: 'too_large',
          error: expect.stringMatching(/: body exceeds RAYVAULT_FETCH_MAX_BYTES \(5242880 bytes\) after decoding$/),
        });
        expect(r.worker_last_error).toContain('body exceeds RAYVAULT_FETCH_MAX_BYTES');
      }
      // The megabyte of spaces never reaches the voltage regex: the field is dropped by length, the price still counts.
      const regexSource = (regex.output.evidence as { sources: Array<{ ok: boolean; warnings: string[] }> }).sources[0];
      expect(regex.stage).toBe('voice');
      expect(regexSource.warnings).toContain(`voltage is ${MB + 2} characters long (over 100): dropped`);
      expect(slow.status).toBe('failed');
      expect(failure(slow)).toMatchObject({
        reason: 'extraction_failed',
        error: `${web.url('/slow-parse')}: extracting facts took longer than 1000 ms (RAYVAULT_EVIDENCE_EXTRACT_TIMEOUT_MS): the page is ignored`,
      });
      // Nobody lost a lock: heartbeats kept going while the pages were read and parsed.
      for (const r of [gz, br, endless, regex, slow, ok])
        expect(r.events.filter((e) => /lost_lock|heartbeat/.test(e.type))).toEqual([]);
    } finally {
      clearInterval(sampler);
      loop.disable();
    }
    // Measured, not asserted as a time: see the report. Memory is the bound that matters.
    process.stderr.write(
      `hostile pages: rss peak +${Math.round((peak - baseline) / MB)} MB, event loop delay max ${Math.round(loop.max / 1e6)} ms, p99 ${Math.round(loop.percentile(99) / 1e6)} ms\n`,
    );
    expect(peak - baseline).toBeLessThan(400 * MB);
  }, 90_000);
});
