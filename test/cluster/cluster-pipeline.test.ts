// The pipeline on a real Redis Cluster (3 masters, each with a replica): every
// process uses a cluster connection from REDIS_CLUSTER_NODES, the queues and
// the run locks sit on their own hash tags, spread over the masters, and the
// doctor and the queue triage show where each one lives.
import { createWorkerHost, redisLayout, runDoctor, submitRun, ALL_QUEUES, type Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor } from '../support/harness';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';
import { allStepsProcessors, readEffects } from '../support/test-processors';

jest.setTimeout(120_000);

let cluster: TestRedisCluster;
let rt: Runtime;
let host: ReturnType<typeof createWorkerHost>;
let stateDir: string;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  // REDIS_URL stays pointed at the harness's single Redis: the cluster seeds must win over it.
  const t = await createTestEnv('cluster', { REDIS_CLUSTER_NODES: cluster.seeds });
  stateDir = t.stateDir;
  rt = testRuntime(t, 'cluster-worker');
  host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
  // The client's first connect may meet the cluster still settling its slots, and retry.
  await waitFor('cluster connection ready', async () => rt.fastRedis.status === 'ready', 30_000, 50);
});

afterAll(async () => {
  await host?.close(1000);
  await rt?.releasers.close();
  await cluster?.stop();
});

it('spreads the queues and the run locks over the masters, and says which master holds which', async () => {
  const layout = await redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES);
  if (layout.mode !== 'cluster') throw new Error(`expected a cluster layout, got ${layout.mode}`);
  expect(layout.state).toBe('ok');
  const masters = await cluster.masters();
  expect(
    layout.nodes
      .filter((n) => n.role === 'master')
      .map((n) => n.address)
      .sort(),
  ).toEqual(masters.sort());
  expect(layout.nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
  for (const part of [...ALL_QUEUES, 'locks', 'misc']) expect(masters).toContain(layout.placement[part]);
  const used = new Set(Object.values(layout.placement));
  expect(used.size).toBeGreaterThanOrEqual(2);
});

it('takes runs through all four stages on the cluster, each step once', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await submitRun(rt, { product: { name: `cluster-${i}` }, actor: 'test' })).id);
  await waitFor(
    'all runs done',
    async () => (await Promise.all(ids.map((id) => rt.store.getRun(id)))).every((r) => r!.status === 'done'),
    60_000,
    200,
  );
  for (const id of ids) {
    const steps = readEffects(stateDir, id);
    expect(new Set(steps).size).toBe(steps.length);
    expect(await rt.locks.holder(id)).toBeNull();
  }
});

it('the doctor passes the cluster and names where each queue lives', async () => {
  const report = await runDoctor(rt);
  const f = report.findings.find((x) => x.code === 'REDIS_CLUSTER');
  expect(f?.level).toBe('PASS');
  expect(f?.message).toMatch(/Redis Cluster ok: 3 master\(s\), 3 replica\(s\); evidence@127\.0\.0\.1:\d+ /);
  expect(report.verdict.infra).toBe('PASS');
});
