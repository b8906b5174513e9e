// Health, readiness and metrics of the ops API against real Redis and Postgres.
import { bumpCounter } from '@rayvault/shared';
import { createApp } from '@rayvault/ops-api';
import { loadOpsApiConfig } from '@rayvault/ops-api';
import { freePort, testRuntime } from '../support/harness';
import { startApi, type Api } from './api-support';

let api: Api;
beforeAll(async () => {
  api = await startApi('ops-health');
});
afterAll(() => api.close());

it('/healthz answers while the process lives; /readyz is 200 with every check passing', async () => {
  expect(await api.call('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'alive' } });
  expect(await api.call('GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', failing: [] } });
  const ready = await api.call('GET', '/readyz', { token: api.tokens.viewer });
  expect(ready.status).toBe(200);
  expect(ready.body).toMatchObject({
    status: 'ready',
    failing: [],
    checks: { redis: { ok: true }, postgres: { ok: true }, migrations: { ok: true, pending: [] } },
  });
});

it('/readyz is 503 and names Postgres when the database does not answer (the error text only with a token)', async () => {
  const env = {
    ...api.t.env,
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`,
    RAYVAULT_ADMIN_TOKEN: api.adminToken,
  };
  const rt = testRuntime(api.t, 'ops-dead', env);
  const dead = createApp(rt, loadOpsApiConfig(env), { host: '127.0.0.1' });
  const { url } = await dead.start(0);
  try {
    const anon = await fetch(`${url}/readyz`);
    expect(anon.status).toBe(503);
    expect(await anon.json()).toEqual({ status: 'not_ready', failing: ['postgres', 'migrations'] });
    const res = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${api.adminToken}` } });
    const body = await res.json();
    expect(res.status).toBe(503);
    expect(body.failing).toEqual(['postgres', 'migrations']);
    expect(body.checks.postgres.error).toMatch(/ECONNREFUSED/);
    expect(body.checks.redis.ok).toBe(true);
    const health = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${api.tokens.viewer}` } });
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'down' });
  } finally {
    await dead.close();
    await rt.releasers.close();
  }
});

it('/health and /api/health tell anyone only the status; a token holder gets the telemetry', async () => {
  for (const path of ['/health', '/api/health']) {
    const anon = await api.call('GET', path);
    expect(anon.status).toBe(200);
    expect(Object.keys(anon.body)).toEqual(['status']);
    expect(['ok', 'degraded']).toContain(anon.body.status);
    const full = await api.call('GET', path, { token: api.tokens.viewer });
    expect(full.body).toMatchObject({
      status: anon.body.status,
      dependencies: [
        { name: 'redis', ok: true },
        { name: 'postgres', ok: true },
      ],
    });
    expect(full.body).toHaveProperty('workers');
    expect(full.body).toHaveProperty('ingestion.issues');
    expect(full.body).toHaveProperty('stale_gates');
  }
});

it('HEALTH_ALLOWLIST addresses get the telemetry without a token', async () => {
  const allowed = await startApi('ops-allow', {
    t: api.t,
    options: { healthAllowlist: '["10.0.0.0/8", "127.0.0.1"]' },
  });
  try {
    const res = await allowed.call('GET', '/api/health');
    expect(res.body.dependencies).toHaveLength(2);
  } finally {
    await allowed.close();
  }
});

it('/metrics needs a token and exports the named series', async () => {
  expect((await api.call('GET', '/metrics')).status).toBe(401);
  await bumpCounter(api.rt.fastRedis, api.t.prefix, 'panics', { kind: 'panic_browser_frozen' });
  await bumpCounter(api.rt.fastRedis, api.t.prefix, 'telegram_deliveries', { kind: 'gate', result: 'sent' });
  await bumpCounter(api.rt.fastRedis, api.t.prefix, 'lock_renewals', {}, 7);
  const res = await api.call('GET', '/metrics', { token: api.tokens.viewer });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  const text = res.body as string;
  for (const line of [
    'rayvault_queue_jobs{queue="evidence",state="waiting"} 0',
    'rayvault_queue_jobs{queue="alerts",state="failed"} 0',
    'rayvault_runs{status="done"} 0',
    'rayvault_gates_open 0',
    'rayvault_panics_total{kind="panic_browser_frozen"} 1',
    'rayvault_telegram_deliveries_total{kind="gate",result="sent"} 1',
    'rayvault_lock_renewals_total 7',
    'rayvault_lock_losses_total 0',
    'rayvault_spool_depth 0',
  ])
    expect(text).toContain(line);
  // Durations are a histogram (a gauge with a quantile label was refused by promtool); the database's 24 h figures have
  // their own name.
  expect(text).toContain('# TYPE rayvault_stage_duration_seconds histogram');
  expect(text).toContain('# TYPE rayvault_stage_duration_last_24h_seconds gauge');
  expect(text).not.toMatch(/quantile=/);
});
