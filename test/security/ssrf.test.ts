// SSRF through the evidence fetcher: a source URL (from the API, the CLI, a
// schedule, or a redirect from a public page) must not reach loopback,
// private, link-local or other special addresses unless RAYVAULT_FETCH_ALLOW
// permits them. Real fetches go to loopback listeners only (they count
// connections: a refused case must make none); every other address is tested
// at the decision function, never by connecting to it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BadResponseError,
  createLogger,
  createRuntime,
  createWorkerHost,
  decideAddress,
  DestinationRefusedError,
  guardedFetch,
  loadConfig,
  parseFetchAllow,
  readBreakers,
  submitRun,
  type Runtime,
  type WorkerHost,
} from '@rayvault/shared';
import { createEvidenceProcessor, evidenceConfigSchema } from '@rayvault/evidence-worker';
import { createTestEnv, waitFor, type TestEnv } from '../support/harness';

type Listener = { port: number; url: (p: string) => string; connections: () => number; close: () => Promise<void> };

/** An HTTP listener on 127.0.0.1 that counts TCP connections and answers by path. */
async function listen(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) =>
    res.end('<html>internal admin page</html>'),
): Promise<Listener> {
  let connections = 0;
  const server = http.createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const NONE = parseFetchAllow(undefined);
const fetchOpts = (allow = NONE) => ({ allow, maxBytes: 1 << 20, timeoutMs: 5000 });

describe('the address decision: every special range and spelling is refused (decided, never connected to)', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.1', 'a loopback address'],
    ['2130706433', 'a loopback address'],
    ['0x7f000001', 'a loopback address'],
    ['0177.0.0.1', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['10.0.0.1', 'a private (RFC 1918) address'],
    ['172.16.5.4', 'a private (RFC 1918) address'],
    ['192.168.1.1', 'a private (RFC 1918) address'],
    ['::ffff:192.168.1.1', 'a private (RFC 1918) address'],
    ['169.254.169.254', 'a link-local address (the cloud metadata service)'],
    ['169.254.1.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT (RFC 6598) address'],
    ['fd00::1', 'a unique-local (fc00::/7) address'],
    ['fd00:ec2::254', 'a unique-local (fc00::/7) address'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['0.0.0.0', 'an unspecified (0.0.0.0/8) address'],
    ['::', 'the unspecified address'],
    ['::7f00:1', 'an IPv4-compatible (::/96) address'],
    ['64:ff9b::a00:1', 'a NAT64 (64:ff9b::/96) address'],
    ['255.255.255.255', 'the broadcast address'],
  ])('%s is refused as %s', (ip, what) => {
    const d = decideAddress(ip, 80, ip, NONE);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toContain(`is ${what}; set RAYVAULT_FETCH_ALLOW to permit it`);
  });

  it('public unicast addresses pass', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111'])
      expect(decideAddress(ip, 443, 'shop.example', NONE)).toEqual({ ok: true });
  });

  it('a name that resolves to a private address says both', () => {
    expect(decideAddress('10.1.2.3', 80, 'wiki.corp', NONE)).toEqual({
      ok: false,
      reason: 'wiki.corp resolves to 10.1.2.3, a private (RFC 1918) address; set RAYVAULT_FETCH_ALLOW to permit it',
    });
  });

  it('RAYVAULT_FETCH_ALLOW permits exactly the hosts, host:port pairs and CIDRs it names', () => {
    const allow = parseFetchAllow('wiki.corp, 10.20.0.0/16, 127.0.0.1:8080, [::1]:9000, fd00::/8');
    expect(decideAddress('10.1.2.3', 443, 'wiki.corp', allow)).toEqual({ ok: true });
    expect(decideAddress('10.20.30.40', 80, '10.20.30.40', allow)).toEqual({ ok: true });
    expect(decideAddress('::ffff:10.20.30.40', 80, 'x.example', allow)).toEqual({ ok: true });
    expect(decideAddress('10.21.0.1', 80, '10.21.0.1', allow).ok).toBe(false);
    expect(decideAddress('127.0.0.1', 8080, 'localhost', allow)).toEqual({ ok: true });
    expect(decideAddress('127.0.0.1', 6379, 'localhost', allow).ok).toBe(false);
    expect(decideAddress('::1', 9000, '::1', allow)).toEqual({ ok: true });
    expect(decideAddress('fd12::1', 80, 'fd12::1', allow)).toEqual({ ok: true });
    expect(decideAddress('169.254.169.254', 80, 'metadata.google.internal', allow).ok).toBe(false);
  });

  it('a bad allow-list is refused at start with every problem listed', () => {
    expect(() => parseFetchAllow('127.1, not a host, 10.0.0.0/33, [::1]:70000')).toThrow(
      /"127\.1" is an IPv4 address in a short.*"not a host" is not a host name.*"10\.0\.0\.0\/33" is not a valid CIDR.*"\[::1\]:70000" has a bad port/,
    );
    expect(() => loadConfig({ RAYVAULT_FETCH_ALLOW: '0x7f000001' }, { useDotenv: false })).toThrow(
      /RAYVAULT_FETCH_ALLOW/,
    );
  });
});

describe('fetching a loopback listener', () => {
  let target: Listener;
  beforeAll(async () => {
    target = await listen();
  });
  afterAll(() => target.close());

  it.each([
    ['http://127.0.0.1:PORT/admin'],
    ['http://localhost:PORT/admin'],
    ['http://127.1:PORT/admin'],
    ['http://2130706433:PORT/admin'],
    ['http://0x7f000001:PORT/admin'],
    ['http://0177.0.0.1:PORT/admin'],
    ['http://[::ffff:127.0.0.1]:PORT/admin'],
  ])('%s is refused without a connection', async (pattern) => {
    const url = pattern.replace('PORT', String(target.port));
    const err = await guardedFetch(url, fetchOpts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect((err as Error).message).toMatch(
      / refused: (localhost resolves to (127\.0\.0\.1|::1), a|127\.0\.0\.1 is a) loopback address; set RAYVAULT_FETCH_ALLOW to permit it$/,
    );
    expect((err as DestinationRefusedError).retryable).toBe(false);
    expect(target.connections()).toBe(0);
  });

  it('a port the allow-list does not name is refused; the allowed one is fetched', async () => {
    await expect(guardedFetch(target.url('/admin'), fetchOpts(parseFetchAllow('127.0.0.1:1')))).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address/,
    );
    expect(target.connections()).toBe(0);
    const res = await guardedFetch(target.url('/admin'), fetchOpts(parseFetchAllow(`127.0.0.1:${target.port}`)));
    expect([res.status, res.body.toString()]).toEqual([200, '<html>internal admin page</html>']);
    expect(target.connections()).toBe(1);
  });
});

describe('redirects are followed by the guard, each hop checked', () => {
  let secret: Listener;
  let front: Listener;
  beforeAll(async () => {
    secret = await listen();
    front = await listen((req, res) => {
      if (req.url === '/to-secret') return void res.writeHead(302, { location: secret.url('/admin') }).end();
      const n = Number(req.url!.slice(1));
      res.writeHead(301, { location: `/${n + 1}` }).end();
    });
  });
  afterAll(async () => {
    await secret.close();
    await front.close();
  });

  it('an allowed page that redirects to a refused address: refused, the refused listener never connected to', async () => {
    const allow = parseFetchAllow(`127.0.0.1:${front.port}`);
    const err = await guardedFetch(front.url('/to-secret'), fetchOpts(allow)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect((err as Error).message).toBe(
      `${front.url('/to-secret')} refused: redirect to ${secret.url('/admin')}: 127.0.0.1 is a loopback address; set RAYVAULT_FETCH_ALLOW to permit it`,
    );
    expect(front.connections()).toBe(1);
    expect(secret.connections()).toBe(0);
  });

  it('at most 5 redirects are followed', async () => {
    const before = front.connections();
    await expect(guardedFetch(front.url('/0'), fetchOpts(parseFetchAllow(`127.0.0.1:${front.port}`)))).rejects.toThrow(
      BadResponseError,
    );
    expect(front.connections() - before).toBe(6);
  });
});

describe('a refused source in a run', () => {
  let t: TestEnv;
  let rt: Runtime;
  let host: WorkerHost;
  let internal: Listener;
  beforeAll(async () => {
    t = await createTestEnv('ssrf');
    const config = loadConfig(
      { ...t.env, RAYVAULT_EVIDENCE_RETRY_BASE_MS: '20' },
      { schema: evidenceConfigSchema, useDotenv: false },
    );
    rt = createRuntime(config, createLogger('w-ssrf', config.RAYVAULT_LOG_LEVEL), { workerId: 'w-ssrf' });
    host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt, config) } });
    await host.start();
    internal = await listen();
  });
  afterAll(async () => {
    await host.close(1000);
    await rt.releasers.close();
    await internal.close();
  });

  it('fails the run at once naming the source and the reason, never retried, no circuit opened, no connection made', async () => {
    const url = internal.url('/');
    const run = await submitRun(rt, {
      product: { name: 'Sneaky', sources: [{ url, tier: 5, name: 'maker' }] },
      actor: 'test',
    });
    const failed = await waitFor('run failed', async () => {
      const r = await rt.store.getRun(run.id);
      return r?.status === 'failed' ? r : null;
    });
    expect(failed.worker_last_error).toContain(
      `maker: ${url} refused: 127.0.0.1 is a loopback address; set RAYVAULT_FETCH_ALLOW to permit it`,
    );
    const failures = failed.events.filter((e) => e.type === 'ingestion_failure').map((e) => e.payload);
    expect(failures).toEqual([
      expect.objectContaining({
        source: 'maker',
        reason: 'refused',
        error: `${url} refused: 127.0.0.1 is a loopback address; set RAYVAULT_FETCH_ALLOW to permit it`,
      }),
    ]);
    expect(failed.events.filter((e) => e.type === 'stage_claimed')).toHaveLength(1);
    expect(
      (await readBreakers(rt.fastRedis, t.prefix)).filter((b) => b.source === `127.0.0.1:${internal.port}`),
    ).toEqual([]);
    expect(internal.connections()).toBe(0);
  });
});
