// X-Forwarded-For spoofing: a client claims an allowlisted address (to read
// health telemetry and metrics without a token) or rotates claimed addresses
// (to dodge its rate limit). The API is started the way main.ts starts it:
// the environment parsed by the ops API's schema, so a refused value is
// refused where an operator would meet it.
//
// The model: express believes X-Forwarded-For only from a trusted peer. With
// proxy addresses, only those peers' headers count, so a direct client's
// forged header is ignored. With a hop count N the N nearest hops are trusted
// whoever they are, so the API must be reachable only through those proxies
// (hence the 127.0.0.1 default bind); each proxy appends the peer it saw, so
// a client behind it cannot push its own entry past the proxy's.
import { ConfigError, createLogger, createRuntime, loadConfig, type Runtime } from '@rayvault/shared';
import { createApp, type OpsApp } from '@rayvault/ops-api';
import { opsApiConfigSchema } from '@rayvault/ops-api';
import { parseTrustProxy, trustProxyProblem } from '../../services/ops-api/src/http/trust-proxy';
import { createTestEnv, type TestEnv } from '../support/harness';
import { requestFrom, startForwardingProxy } from './loopback-clients';

// A documentation address (TEST-NET-1): it only ever appears inside a header.
const ALLOWLISTED = '192.0.2.10';
const PROXY = '127.0.0.2';
const CLIENT = '127.0.0.3';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('proxy-spoofing');
});

type Started = { app: OpsApp; rt: Runtime; url: string; close: () => Promise<void> };

/**
 * As main.ts does it: parse the environment with the ops schema (throws ConfigError on a refused value), then start.
 */
async function startFromEnv(env: Record<string, string>): Promise<Started> {
  const config = loadConfig(
    { ...t.env, HEALTH_ALLOWLIST: ALLOWLISTED, ...env },
    { schema: opsApiConfigSchema, useDotenv: false },
  );
  const rt = createRuntime(config, createLogger('ops-spoof', 'silent'), { workerId: 'ops-spoof' });
  const app = createApp(rt, config);
  const { url } = await app.start(0);
  return {
    app,
    rt,
    url,
    close: async () => {
      await app.close();
      await rt.releasers.close();
    },
  };
}

const forged = { 'x-forwarded-for': ALLOWLISTED };
const sawTelemetry = (body: unknown) => typeof body === 'object' && body !== null && 'dependencies' in body;

describe('OPS_TRUST_PROXY values that let any client claim any address are refused at start', () => {
  it('"true" fails config parsing with a message that names the variable and what to set instead', () => {
    expect(() =>
      loadConfig({ ...t.env, OPS_TRUST_PROXY: 'true' }, { schema: opsApiConfigSchema, useDotenv: false }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        message: expect.stringMatching(
          /OPS_TRUST_PROXY: "true" believes X-Forwarded-For from anyone.*number of proxies/s,
        ),
      }),
    );
  });

  it('catch-all ranges are refused too: every IPv4 or IPv6 address, every IPv4 through ::ffff:0:0/96, absurd hop counts, unknown names', () => {
    for (const v of [
      '0.0.0.0/0',
      '::/0',
      '0.0.0.0/1',
      '2000::/3',
      '::/8',
      '::ffff:0:0/96',
      '10.0.0.5,0.0.0.0/0',
      '99',
      'all',
      'everything',
      '10.0.0.5,',
      '10.0.0.0/33',
    ]) {
      expect([v, trustProxyProblem(v)]).toEqual([v, expect.any(String)]);
      expect(() => parseTrustProxy(v)).toThrow(ConfigError);
    }
  });

  it('a hop count, proxy addresses and CIDRs, and the named local ranges are accepted', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('10.0.0.5, 10.1.0.0/24,fd00::/8')).toEqual(['10.0.0.5', '10.1.0.0/24', 'fd00::/8']);
    expect(parseTrustProxy('loopback,linklocal,uniquelocal')).toEqual(['loopback', 'linklocal', 'uniquelocal']);
  });
});

describe('a client forging X-Forwarded-For to claim an allowlisted address', () => {
  it('gets no telemetry and no metrics whatever OPS_TRUST_PROXY an operator sets: "true" does not start, proxy addresses and hop counts hold', async () => {
    const outcomes: Record<string, string> = {};
    for (const value of ['true', PROXY, '1']) {
      let api: Started;
      try {
        api = await startFromEnv({ OPS_TRUST_PROXY: value });
      } catch (err) {
        outcomes[value] = err instanceof ConfigError ? 'refused at start' : `failed: ${(err as Error).message}`;
        continue;
      }
      // With a hop count the client is behind the proxy (the only way in); with addresses it also tries the API
      // directly.
      const proxy = value === '1' ? await startForwardingProxy(PROXY, api.url) : undefined;
      try {
        const target = proxy?.url ?? api.url;
        const health = await requestFrom(CLIENT, `${target}/api/health`, { headers: forged });
        const metrics = await requestFrom(CLIENT, `${target}/metrics`, { headers: forged });
        const ready = await requestFrom(CLIENT, `${target}/readyz`, { headers: forged });
        outcomes[value] =
          sawTelemetry(health.body) || metrics.status === 200 || 'checks' in ready.body
            ? 'spoofed'
            : `anonymous (${Object.keys(health.body).join()}; metrics ${metrics.status})`;
      } finally {
        await proxy?.close();
        await api.close();
      }
    }
    expect(outcomes).toEqual({
      true: 'refused at start',
      [PROXY]: 'anonymous (status; metrics 401)',
      1: 'anonymous (status; metrics 401)',
    });
  });

  it("the header of a listed proxy is believed (so the allowlist still works behind it), a direct client's is not", async () => {
    const api = await startFromEnv({ OPS_TRUST_PROXY: PROXY });
    try {
      expect(sawTelemetry((await requestFrom(PROXY, `${api.url}/api/health`, { headers: forged })).body)).toBe(true);
      expect(sawTelemetry((await requestFrom(CLIENT, `${api.url}/api/health`, { headers: forged })).body)).toBe(false);
    } finally {
      await api.close();
    }
  });

  it('behind a hop-count proxy an allowlisted client gets telemetry and a client claiming its address does not', async () => {
    const api = await startFromEnv({ OPS_TRUST_PROXY: '1', HEALTH_ALLOWLIST: '127.0.0.4' });
    const proxy = await startForwardingProxy(PROXY, api.url);
    try {
      expect(sawTelemetry((await requestFrom('127.0.0.4', `${proxy.url}/api/health`)).body)).toBe(true);
      expect(
        sawTelemetry(
          (await requestFrom(CLIENT, `${proxy.url}/api/health`, { headers: { 'x-forwarded-for': '127.0.0.4' } })).body,
        ),
      ).toBe(false);
    } finally {
      await proxy.close();
      await api.close();
    }
  });
});

describe('a client rotating forged X-Forwarded-For values to dodge its rate limit', () => {
  it('is counted as itself: the fourth request in the minute gets 429 although each claimed a new address', async () => {
    const api = await startFromEnv({ OPS_TRUST_PROXY: PROXY, OPS_RATE_LIMIT_PER_MIN: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++)
        statuses.push(
          (await requestFrom(CLIENT, `${api.url}/healthz`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } }))
            .status,
        );
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      // Another client is not affected.
      expect((await requestFrom('127.0.0.5', `${api.url}/healthz`)).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});
