// `npm start` on a Redis Cluster: with REDIS_CLUSTER_NODES set it starts no
// Redis of its own, every service and the CLI use the cluster, and the two
// samples go end to end (the conflict sample approved at its gate) while the
// queues sit on more than one master.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { browserConfigFields, CHROMIUM_ARGS } from '../../services/render-worker/src/render/browser';
import { freePort, ROOT, waitFor } from '../support/harness';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';
import { descendants } from './process-tree';
import { npmStartEnv, startNpmStack, type NpmStack } from './stack-env';

jest.setTimeout(420_000);

let cluster: TestRedisCluster;
let stack: NpmStack;
const out = () => stack.output();
let stateDir: string;
let port: number;
const env = () => npmStartEnv(stateDir, port, { REDIS_CLUSTER_NODES: cluster.seeds });
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(ROOT, 'cli/bin/rayvault'), ...args], { env: env(), encoding: 'utf8' });
const runStatus = (id: string) => JSON.parse(cli('run', id, '--json')).status as string;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'npm-start-cluster-'));
  port = await freePort();
  stack = await startNpmStack(env());
});

afterAll(async () => {
  if (stack) {
    process.kill(-stack.proc.pid!, 'SIGINT');
    await waitFor(
      'the stack to stop',
      () => out().includes('all stopped') || stack.proc.exitCode !== null,
      60_000,
    ).catch(() => undefined);
    for (const p of descendants(stack.proc.pid!)) process.kill(p, 'SIGKILL');
  }
  await cluster?.stop();
});

it('uses the cluster instead of starting a Redis, and the CLI finds it through stack.env', () => {
  expect(out()).toContain('using the Redis Cluster of REDIS_CLUSTER_NODES');
  expect(readFileSync(path.join(stateDir, 'stack.env'), 'utf8')).toContain(`REDIS_CLUSTER_NODES=${cluster.seeds}\n`);
  const stackProcs = descendants(stack.proc.pid!).map((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  });
  expect(stackProcs.some((c) => c.startsWith('redis-server'))).toBe(false);
});

it('shows the cluster in `rayvault queues` and the doctor: the queues spread over at least two masters', async () => {
  const q = JSON.parse(cli('queues', '--json'));
  expect(q.redis.mode).toBe('cluster');
  const masters = await cluster.masters();
  for (const part of ['evidence', 'voice', 'render', 'qc', 'alerts', 'cron', 'locks'])
    expect(masters).toContain(q.redis.placement[part]);
  expect(new Set(Object.values(q.redis.placement)).size).toBeGreaterThanOrEqual(2);
  const text = cli('queues');
  expect(text).toMatch(/redis cluster: ok/);
  expect(text).toMatch(/placement: evidence@127\.0\.0\.1:\d+/);
  const api = await fetch(`http://127.0.0.1:${port}/api/ops/queues`, {
    headers: { authorization: `Bearer ${readFileSync(path.join(stateDir, 'admin-token'), 'utf8').trim()}` },
  });
  expect((await api.json()).redis.placement).toEqual(q.redis.placement);
  expect(cli('doctor')).toMatch(/REDIS_CLUSTER.*Redis Cluster ok: 3 master\(s\), 3 replica\(s\)/);
});

it('the dashboard overview names the cluster and the master of each queue', async () => {
  const browser = await chromium.launch({
    executablePath: browserConfigFields.parse(process.env).CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.getByLabel('API token').fill(readFileSync(path.join(stateDir, 'admin-token'), 'utf8').trim());
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByTestId('redis-cluster').textContent()).resolves.toMatch(/Redis Cluster ok: 6 nodes/);
    const masters = await cluster.masters();
    const evidence = await page.locator('[data-queue="evidence"]').textContent();
    expect(masters.some((m) => evidence?.includes(`on ${m}`))).toBe(true);
  } finally {
    await browser.close();
  }
});

it('takes the consistent sample to done, and the conflict sample to done once approved at its gate', async () => {
  const [consistent, conflict] = readFileSync(path.join(stateDir, '.samples-submitted'), 'utf8').trim().split('\n');
  await waitFor('consistent sample done', () => runStatus(consistent) === 'done', 180_000, 1000);
  await waitFor('conflict sample gated', () => runStatus(conflict) === 'waiting_approval', 60_000, 1000);
  cli('approve', conflict, '--operator', 'cluster-test', '--reason', 'the sources agree after review');
  await waitFor('conflict sample done after approval', () => runStatus(conflict) === 'done', 180_000, 1000);
});
