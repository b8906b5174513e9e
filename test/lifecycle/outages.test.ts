// Postgres stopped mid-run and Redis restarted mid-run, on dedicated servers.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createFastFailRedis, createWorkerHost, submitRun } from '@rayvault/shared';
import {
  createDatabase,
  createTestEnv,
  startPgServer,
  startRedisServer,
  testRuntime,
  waitFor,
} from '../support/harness';
import { readEffects } from '../support/test-processors';
import { allStepsProcessors, stepsProcessor } from '../support/test-processors';

jest.setTimeout(120000);

it('Postgres stopped mid-run: events spool to disk, drain exactly once when it returns, the run completes', async () => {
  const server = await startPgServer();
  const t = await createTestEnv('pgdown', { DATABASE_URL: await createDatabase(server.url, 'pgdown') });
  const rt = testRuntime(t, 'pg-worker');
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
  try {
    const run = await submitRun(rt, { product: { name: 'P' }, input: { steps: 8, stepMs: 150 }, actor: 'test' });
    await waitFor('evidence under way', () => readEffects(t.stateDir, run.id).length >= 2);
    await server.stop();
    const spoolDir = path.join(t.stateDir, 'spool');
    await waitFor('writes spooled', () => readdirSync(spoolDir).some((f) => f.endsWith('.jsonl')), 20000);
    await new Promise((r) => setTimeout(r, 2500)); // long enough for heartbeat_uncertain
    await server.start();
    const check = new pg.Pool({ connectionString: t.dbUrl, max: 1 });
    await waitFor(
      'run done',
      async () => (await check.query('SELECT status FROM runs WHERE id = $1', [run.id])).rows[0]?.status === 'done',
      60000,
      250,
    );
    const { rows } = await check.query(
      `SELECT payload->>'stage' AS stage, payload->>'step' AS step, count(*)::int AS n
      FROM run_events WHERE run_id = $1 AND type = 'step_done' GROUP BY 1, 2`,
      [run.id],
    );
    expect(rows).toHaveLength(32); // 4 stages x 8 steps, each recorded once
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const types = (await check.query('SELECT type FROM run_events WHERE run_id = $1', [run.id])).rows.map(
      (r) => r.type,
    );
    expect(types).toContain('panic_heartbeat_uncertain');
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl') || f.endsWith('.replaying'))).toEqual([]);
    await check.end();
  } finally {
    await host.close(1000);
    await rt.releasers.close();
    await server.stop();
  }
});

it('Redis restarted mid-run: workers reconnect and the run completes', async () => {
  const redis = await startRedisServer({ aof: true });
  const t = await createTestEnv('redisdown', { REDIS_URL: redis.url });
  const rt = testRuntime(t, 'redis-worker');
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
  try {
    const run = await submitRun(rt, { product: { name: 'P' }, input: { steps: 6, stepMs: 150 }, actor: 'test' });
    await waitFor('voice under way', () => readEffects(t.stateDir, run.id).some((l) => l.startsWith('voice')));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    await waitFor('run done', async () => (await rt.store.getRun(run.id))?.status === 'done', 60000, 250);
    const effects = readEffects(t.stateDir, run.id).map((l) => l.split(':').slice(0, 2).join(':'));
    expect(new Set(effects).size).toBe(24);
  } finally {
    await host.close(1000);
    await rt.releasers.close();
    await redis.stop();
  }
});

it('the lock connection still reconnecting while jobs arrive: jobs wait without spending attempts, the run completes', async () => {
  const t = await createTestEnv('fastlag');
  const rt = testRuntime(t, 'lag-worker');
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
  try {
    // After an outage each connection reconnects on its own backoff: here the queue connection is back, the lock one is
    // not.
    rt.fastRedis.disconnect();
    const run = await submitRun(rt, { product: { name: 'P' }, input: { steps: 1 }, actor: 'test' });
    // Three attempts with a 200 ms backoff would be spent well within this.
    await new Promise((r) => setTimeout(r, 3000));
    const job = (await rt.queues.evidence.getJob(`${run.id}:evidence:1`))!;
    expect({
      state: await job.getState(),
      attemptsMade: job.attemptsMade,
      status: (await rt.store.getRun(run.id))!.status,
    }).toEqual({ state: expect.stringMatching(/^(delayed|waiting|active)$/), attemptsMade: 0, status: 'queued' }); // postponed, retried, never failed
    await rt.fastRedis.connect();
    await waitFor('run done', async () => (await rt.store.getRun(run.id))?.status === 'done', 30000, 100);
  } finally {
    await host.close(1000);
    await rt.releasers.close();
  }
});

it('Redis unreachable from inside a stage: the stage is postponed from its checkpoint, no attempt spent, the run completes', async () => {
  const t = await createTestEnv('stagelag');
  const rt = testRuntime(t, 'stage-lag-worker');
  const steps = stepsProcessor(t.stateDir);
  const stageRedis = createFastFailRedis(t.redisUrl, rt.log);
  let cut = false;
  // Stage code that reads Redis (as the evidence breakers do) while its connection is away for 3 s.
  const processors = {
    ...allStepsProcessors(t.stateDir),
    voice: async (ctx: Parameters<typeof steps>[0]) => {
      if (!cut) {
        cut = true;
        stageRedis.disconnect();
        setTimeout(() => void stageRedis.connect(), 3000);
      }
      await stageRedis.get(`${t.prefix}:probe`);
      return steps(ctx);
    },
  };
  const host = createWorkerHost(rt, { processors });
  await host.start();
  try {
    const run = await submitRun(rt, { product: { name: 'P' }, input: { steps: 1 }, actor: 'test' });
    const done = await waitFor(
      'run settled',
      async () => {
        const r = (await rt.store.getRun(run.id))!;
        return ['done', 'failed', 'panic'].includes(r.status) && r;
      },
      30000,
      100,
    );
    expect({ status: done.status, error: done.worker_last_error }).toEqual({ status: 'done', error: null });
    expect(cut).toBe(true);
  } finally {
    stageRedis.disconnect();
    await host.close(1000);
    await rt.releasers.close();
  }
});
