// Flooding and token guessing against the ops API. Each client has its own
// loopback source address, so one API instance sees several clients.
import http from 'node:http';
import { createTestEnv, type TestEnv } from '../support/harness';
import { startApi, type Api } from '../ops-api/api-support';
import { requestFrom } from './loopback-clients';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('rate-limits');
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('flooding routes that used to have no limit', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi('flood', { t, options: { rateLimitPerMin: 3 } });
  });
  afterAll(() => api.close());

  // Each route gets its own client address, so the counts do not mix.
  it.each([
    ['/healthz', '127.0.1.1', false],
    ['/readyz', '127.0.1.2', false],
    ['/health', '127.0.1.3', false],
    ['/', '127.0.1.4', false],
    ['/app.js', '127.0.1.5', false],
    ['/admin/queues', '127.0.1.6', true],
    ['/admin/queues/api/queues', '127.0.1.7', true],
  ] as const)('%s answers 429 past the per-client limit', async (path, from, admin) => {
    const headers = admin ? bearer(api.tokens.admin) : {};
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await requestFrom(from, api.url + path, { headers })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const last = await requestFrom(from, api.url + path, { headers });
    expect(last.body).toMatchObject({
      error: { code: 'rate_limited', message: expect.stringMatching(/requests a minute/) },
    });
    expect(last.headers['retry-after']).toMatch(/^\d+$/);
  });
});

describe('guessing tokens', () => {
  let api: Api;
  beforeAll(async () => {
    // A generous request limit, so only the failed-token count can stop the guesser.
    api = await startApi('guess', { t, options: { rateLimitPerMin: 10_000, loginRateLimitPerMin: 5 } });
  });
  afterAll(() => api.close());

  it('many wrong bearer tokens from one client: 429 on every route, even with a good token, while another client is served', async () => {
    const guesser = '127.0.2.1';
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await requestFrom(guesser, `${api.url}/api/runs`, { headers: bearer(`rvt_guess${i}`) })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const after = await requestFrom(guesser, `${api.url}/api/runs`, { headers: bearer(api.tokens.viewer) });
    expect(after).toMatchObject({
      status: 429,
      body: { error: { code: 'rate_limited', message: expect.stringMatching(/failed token attempts/) } },
    });
    expect((await requestFrom(guesser, `${api.url}/healthz`)).status).toBe(429);
    expect((await requestFrom(guesser, `${api.url}/api/health`, { headers: bearer('rvt_more') })).status).toBe(429);
    expect((await requestFrom('127.0.2.2', `${api.url}/api/runs`, { headers: bearer(api.tokens.viewer) })).status).toBe(
      200,
    );
  });

  it('guesses spread over /login, /metrics, /api/health and malformed headers add up', async () => {
    const guesser = '127.0.2.3';
    const tries = [
      () => requestFrom(guesser, `${api.url}/login`, { method: 'POST', body: { token: 'wrong-1' } }),
      () => requestFrom(guesser, `${api.url}/metrics`, { headers: bearer('wrong-2') }),
      () => requestFrom(guesser, `${api.url}/api/health`, { headers: bearer('wrong-3') }),
      () => requestFrom(guesser, `${api.url}/api/me`, { headers: { authorization: 'Basic d3Jvbmc6NA==' } }),
      () => requestFrom(guesser, `${api.url}/login`, { method: 'POST', body: { token: 'wrong-5' } }),
    ];
    const statuses: number[] = [];
    for (const attempt of tries) statuses.push((await attempt()).status);
    expect(statuses).toEqual([401, 401, 200, 401, 401]); // /api/health answers anyone, with the status only
    expect(
      (await requestFrom(guesser, `${api.url}/login`, { method: 'POST', body: { token: api.tokens.viewer } })).status,
    ).toBe(429);
  });

  it('open live streams with a good token hold no place in the failed-token count', async () => {
    // The dashboard keeps a server-sent-events stream open per page: more of them than the limit (5) from one client.
    const from = '127.0.2.5';
    const streams = await Promise.all(
      Array.from(
        { length: 7 },
        () =>
          new Promise<http.ClientRequest>((resolve, reject) => {
            const req = http.request(
              `${api.url}/api/events/stream`,
              { headers: bearer(api.tokens.viewer), localAddress: from, agent: false },
              (res) => {
                expect(res.statusCode).toBe(200);
                resolve(req);
              },
            );
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    try {
      expect((await requestFrom(from, `${api.url}/api/me`, { headers: bearer(api.tokens.viewer) })).status).toBe(200);
      expect((await requestFrom(from, `${api.url}/healthz`)).status).toBe(200);
    } finally {
      for (const req of streams) req.destroy();
    }
  });

  it('a client using its good token is never slowed by the failed-token limit', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++)
      statuses.add(
        (await requestFrom('127.0.2.4', `${api.url}/api/me`, { headers: bearer(api.tokens.operator) })).status,
      );
    for (let i = 0; i < 8; i++)
      statuses.add(
        (await requestFrom('127.0.2.4', `${api.url}/login`, { method: 'POST', body: { token: api.tokens.operator } }))
          .status,
      );
    expect([...statuses]).toEqual([200]);
  });
});
