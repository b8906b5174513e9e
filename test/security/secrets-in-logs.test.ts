// Secrets in logs: canary credentials planted in the configuration of every
// service process (Redis and Postgres passwords of a user and role made for
// this test, the bot token, the webhook secret, the admin token, a Supabase
// service key; the webhook URL's path carries the secret too, as many setups
// do), then a full sample run through the gate, a Bot API outage,
// button presses, a refetch into a panic, and ops API calls with the right and
// a wrong token. No canary may appear in any log line of any process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import type { StoredMessage } from '../fixtures/telegram/bot-api-state';
import { createTestEnv, freePort, ROOT, waitFor, type TestEnv } from '../support/harness';

jest.setTimeout(240_000);

const hex = randomBytes(6).toString('hex');
const CANARY = {
  redisPassword: `rvCanaryRedis${hex}`,
  pgPassword: `rvCanaryPg${hex}`,
  adminToken: `rv-canary-admin-${hex}`,
  wrongToken: `rv-canary-wrong-${hex}`,
  webhookSecret: `rv_canary_hook_${hex}`,
  supabaseKey: `rv-canary-supabase-${hex}`,
};
const ADMIN = 4242;
const CHAT = '-100424242';
const SERVICES = [
  ['ops-api', 'ops-api listening'],
  ['evidence-worker', 'worker started'],
  ['render-worker', 'render worker ready'],
  ['scheduler', 'scheduler started'],
  ['notifier', 'notifier started'],
] as const;

type Proc = { name: string; proc: ChildProcess; out: () => string; exited: Promise<number | null> };
let t: TestEnv;
let api: BotApiDouble;
let procs: Proc[] = [];
let apiUrl: string;
let admin: pg.Client;
let redisAdmin: Redis;
const role = `rv_canary_${hex}`;
const dbName = `rv_canary_db_${hex}`;

/** A Redis ACL user and a Postgres role that own this test's data, each with a canary password. */
async function canaryInfrastructure(): Promise<{ redisUrl: string; dbUrl: string }> {
  const redisBase = new URL(process.env.RV_TEST_REDIS_URL!);
  redisAdmin = new Redis(process.env.RV_TEST_REDIS_URL!, { maxRetriesPerRequest: 1 });
  await redisAdmin.call('ACL', 'SETUSER', role, 'on', `>${CANARY.redisPassword}`, '~*', '&*', '+@all');
  const redisUrl = `redis://${role}:${CANARY.redisPassword}@${redisBase.host}`;

  admin = new pg.Client({ connectionString: process.env.RV_TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${CANARY.pgPassword}'`);
  await admin.query(`CREATE DATABASE ${dbName} OWNER ${role}`);
  const dbUrl = new URL(process.env.RV_TEST_PG_URL!);
  dbUrl.username = role;
  dbUrl.password = CANARY.pgPassword;
  dbUrl.pathname = `/${dbName}`;
  const pool = new pg.Pool({ connectionString: dbUrl.href, max: 1 });
  await migrate(pool);
  await pool.end();
  return { redisUrl, dbUrl: dbUrl.href };
}

function start(name: string, env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, `services/${name}/src/main.ts`)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { name, proc, out: () => out, exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
}

beforeAll(async () => {
  const { redisUrl, dbUrl } = await canaryInfrastructure();
  t = await createTestEnv('secrets-in-logs', { REDIS_URL: redisUrl, DATABASE_URL: dbUrl });
  api = await startBotApiDouble();
  const [apiPort, hookPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${apiPort}`;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SUPABASE_URL|REDIS_URL|DATABASE_URL)$/.test(k)),
  ) as Record<string, string>;
  const env = {
    ...inherited,
    ...t.env,
    RAYVAULT_LOG_LEVEL: 'debug',
    RAYVAULT_API_PORT: String(apiPort),
    RAYVAULT_MAX_REFETCHES: '1',
    RAYVAULT_ADMIN_TOKEN: CANARY.adminToken,
    SUPABASE_SERVICE_KEY: CANARY.supabaseKey,
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_CHAT_ID: CHAT,
    TELEGRAM_ADMIN_IDS: String(ADMIN),
    TELEGRAM_API_ROOT: api.apiRoot,
    // A secret path as well as the secret token, as many webhook setups do.
    TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/telegram/${CANARY.webhookSecret}`,
    TELEGRAM_WEBHOOK_SECRET: CANARY.webhookSecret,
    TELEGRAM_WEBHOOK_PORT: String(hookPort),
    TELEGRAM_WEBHOOK_HOST: '127.0.0.1',
    NOTIFIER_RETRY_BASE_MS: '100',
    NOTIFIER_RETRY_MAX_MS: '400',
  };
  procs = SERVICES.map(([name]) => start(name, env));
  for (const [i, [name, ready]] of SERVICES.entries()) {
    await waitFor(
      `${name} ready`,
      () =>
        procs[i].out().includes(`"msg":"${ready}"`) ||
        (procs[i].proc.exitCode !== null && Promise.reject(new Error(procs[i].out()))),
      90_000,
      200,
    );
  }
  await waitFor('webhook registered', () => api.state.webhook?.secret_token === CANARY.webhookSecret, 30_000);
});

afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  await api?.close();
  await redisAdmin?.call('ACL', 'DELUSER', role).catch(() => 0);
  redisAdmin?.disconnect();
  await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin?.end();
});

const call = (method: string, url: string, token: string, body?: unknown) =>
  fetch(`${apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const runStatus = async (id: string) =>
  ((await (await call('GET', `/api/runs/${id}`, CANARY.adminToken)).json()) as { status: string }).status;
const messageWith = (needle: string) =>
  waitFor(`Telegram message with ${needle}`, () => api.messages.find((m) => m.text.includes(needle)), 60_000);
const pressed = (msg: StoredMessage, label: string) =>
  api.press({ fromId: ADMIN, data: api.buttonData(msg, label)!, message: msg });

describe('canary secrets in the configuration of every process never reach a log line', () => {
  it('a conflict sample through a Bot API outage, its gate, a refetch into a panic, stale and fresh presses, right and wrong tokens', async () => {
    // The Bot API drops connections while the gate alert goes out: the notifier logs why it retries.
    await api.down('reset');
    const created = await call('POST', '/api/runs', CANARY.adminToken, { sample: 'conflict' });
    expect(created.status).toBe(201);
    const run = (await created.json()) as { id: string };
    await waitFor(
      'gate delivery refused by the outage',
      () => api.calls.some((c) => c.method === 'sendmessage' && c.status === 0),
      60_000,
    );
    await waitFor('the notifier logged the outage', () => procs[4].out().includes('Bot API unreachable'), 30_000);
    await api.up();

    const gate = await messageWith(run.id);
    const approveGate = api.buttonData(gate, 'Approve')!;
    pressed(gate, 'Refetch');
    // RAYVAULT_MAX_REFETCHES=1: the conflict survives the refetch and the run panics.
    await waitFor('panic', async () => (await runStatus(run.id)) === 'panic', 60_000, 500);
    const panic = await waitFor(
      'panic message',
      () => api.messages.find((m) => m.text.includes(run.id) && m.text.includes('PANIC')),
      60_000,
    );
    const stale = api.press({ fromId: ADMIN, data: approveGate, message: gate });
    await waitFor(
      'stale press answered',
      () => api.callbackAnswers.find((a) => a.callback_query_id === (stale.callback_query as { id: string }).id),
      30_000,
    );
    pressed(panic, 'Abort');
    await waitFor('aborted', async () => (await runStatus(run.id)) === 'aborted', 30_000, 500);

    expect((await call('GET', '/api/runs', CANARY.wrongToken)).status).toBe(401);
    expect((await call('POST', `/api/runs/${run.id}/approve`, CANARY.wrongToken, { reason: 'x' })).status).toBe(401);
    expect((await fetch(`${apiUrl}/api/runs?token=${CANARY.wrongToken}&apikey=${CANARY.wrongToken}`)).status).toBe(401);

    for (const p of procs) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));

    const lines = procs.flatMap((p) =>
      p
        .out()
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ service: p.name, line })),
    );
    // The run really went through every path whose logs are checked.
    const all = lines.map((l) => l.line).join('\n');
    for (const seen of [
      'Bot API unreachable',
      'button press handled',
      'operator action',
      'stage panicked',
      'gate opened',
      'shutting down gracefully',
    ])
      expect(all).toContain(seen);
    const secrets = [...Object.values(CANARY), api.token, api.token.split(':')[1]];
    const leaks = lines.filter(({ line }) =>
      secrets.some((s) => line.includes(s) || line.includes(encodeURIComponent(s))),
    );
    expect(leaks).toEqual([]);
  });
});
