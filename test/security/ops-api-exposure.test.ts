// What the ops API gives away to whoever can reach it: where it listens by
// default, what anonymous health checks reveal, and whether the session
// cookie can travel over plain HTTP across a network.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { createApp } from '@rayvault/ops-api';
import { loadOpsApiConfig } from '@rayvault/ops-api';
import { parseTrustProxy } from '../../services/ops-api/src/http/trust-proxy';
import { createTestEnv, freePort, ROOT, testRuntime, type TestEnv } from '../support/harness';
import { startApi, type Api } from '../ops-api/api-support';

let t: TestEnv;
let api: Api;
beforeAll(async () => {
  t = await createTestEnv('ops-exposure');
  api = await startApi('ops-exposure', { t });
});
afterAll(() => api.close());

async function login(a: Api, headers: Record<string, string> = {}) {
  const res = await fetch(`${a.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token: a.tokens.viewer }),
  });
  return {
    status: res.status,
    setCookie: res.headers.get('set-cookie') ?? '',
    body: (await res.json()) as { warning?: string },
  };
}

describe('reaching the API from another machine by default', () => {
  it('with the default configuration the API listens on 127.0.0.1 only', async () => {
    const rt = testRuntime(t, 'ops-default-bind');
    const app = createApp(rt, loadOpsApiConfig(t.env));
    try {
      expect(app.options.host).toBe('127.0.0.1');
      const { address } = await app.start(0);
      expect(address).toBe('127.0.0.1');
    } finally {
      await app.close();
      await rt.releasers.close();
    }
  });

  it('docker compose listens on every interface inside the container only, and publishes the port on 127.0.0.1 unless RAYVAULT_BIND says otherwise', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string>; ports?: string[] }>;
    };
    expect(compose.services['ops-api'].environment?.OPS_BIND_HOST).toBe('0.0.0.0');
    expect(compose.services['ops-api'].ports).toEqual(['${RAYVAULT_BIND:-127.0.0.1}:${RAYVAULT_API_PORT:-8080}:8080']);
  });
});

describe('reading internals from anonymous /readyz', () => {
  it('a dead database: anyone sees the status and the failing check names, not the host, port or connection error', async () => {
    const env = {
      ...t.env,
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`,
      RAYVAULT_ADMIN_TOKEN: api.adminToken,
    };
    const rt = testRuntime(t, 'ops-dead-db', env);
    const dead = createApp(rt, loadOpsApiConfig(env), { host: '127.0.0.1' });
    const { url } = await dead.start(0);
    try {
      const anon = await fetch(`${url}/readyz`);
      const text = await anon.text();
      expect(anon.status).toBe(503);
      expect(JSON.parse(text)).toEqual({ status: 'not_ready', failing: ['postgres', 'migrations'] });
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:\d{4,5}/);
      const admin = await (
        await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${api.adminToken}` } })
      ).json();
      expect(admin.checks.postgres.error).toMatch(/ECONNREFUSED/);
    } finally {
      await dead.close();
      await rt.releasers.close();
    }
  });

  it('a pending migration: anyone sees "migrations" failing, not the migration names; a token holder or an allowlisted address sees them', async () => {
    const {
      rows: [last],
    } = await api.rt.pool.query('SELECT version, name, checksum FROM schema_migrations ORDER BY version DESC LIMIT 1');
    await api.rt.pool.query('DELETE FROM schema_migrations WHERE version = $1', [last.version]);
    const allowlisted = await startApi('ops-exposure-allow', { t, options: { healthAllowlist: '127.0.0.1' } });
    try {
      const anon = await api.call('GET', '/readyz');
      expect(anon).toMatchObject({ status: 503, body: { status: 'not_ready', failing: ['migrations'] } });
      expect(JSON.stringify(anon.body)).not.toContain(last.name);
      const viewer = await api.call('GET', '/readyz', { token: api.tokens.viewer });
      expect(viewer.body.checks.migrations).toEqual({ ok: false, pending: [last.name], error: 'run rayvault migrate' });
      expect((await allowlisted.call('GET', '/readyz')).body.checks.migrations.pending).toEqual([last.name]);
    } finally {
      await allowlisted.close();
      await api.rt.pool.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        last.version,
        last.name,
        last.checksum,
      ]);
    }
  });
});

describe('a browser session on the health routes', () => {
  it('the session cookie counts as authenticated on /health, /api/health and /readyz', async () => {
    const { setCookie } = await login(api);
    const cookie = setCookie.split(';')[0];
    for (const p of ['/health', '/api/health']) {
      const res = await api.call('GET', p, { headers: { cookie } });
      expect([p, Object.keys(res.body)]).toEqual([
        p,
        expect.arrayContaining(['status', 'dependencies', 'workers', 'ingestion']),
      ]);
    }
    expect((await api.call('GET', '/readyz', { headers: { cookie } })).body).toHaveProperty('checks.redis.ok', true);
  });
});

describe('stealing the session cookie off plain HTTP', () => {
  it('plain HTTP from this machine: no Secure flag, so a local browser keeps the session', async () => {
    const { status, setCookie } = await login(api);
    expect(status).toBe(200);
    expect(setCookie).toMatch(/^rv_session=[^;]+;.*HttpOnly.*SameSite=Strict/i);
    expect(setCookie).not.toMatch(/;\s*Secure/i);
  });

  it('a remote client through a proxy on plain HTTP gets a Secure cookie (and a warning why the browser may drop it); over HTTPS too', async () => {
    const behind = await startApi('ops-exposure-proxy', { t, options: { trustProxy: parseTrustProxy('loopback') } });
    try {
      const plain = await login(behind, { 'x-forwarded-for': '192.0.2.7' });
      expect(plain.setCookie).toMatch(/;\s*Secure/i);
      expect(plain.body.warning).toMatch(/plain HTTP.*HTTPS/);
      const tls = await login(behind, { 'x-forwarded-for': '192.0.2.7', 'x-forwarded-proto': 'https' });
      expect(tls.setCookie).toMatch(/;\s*Secure/i);
      expect(tls.body.warning).toBeUndefined();
      const out = await fetch(`${behind.url}/logout`, { method: 'POST', headers: { 'x-forwarded-for': '192.0.2.7' } });
      expect(out.headers.get('set-cookie')).toMatch(/^rv_session=;.*Secure/i);
    } finally {
      await behind.close();
    }
  });
});
