// `npm start` as a user runs it: a fresh state dir, no REDIS_URL / DATABASE_URL,
// so it starts its own Redis and Postgres, migrates, supervises the services and
// submits the samples. Then one service is killed and must come back, and
// SIGINT must leave no process of the stack behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, ROOT, waitFor } from '../support/harness';
import { descendants } from './process-tree';
import { npmStartEnv, startNpmStack, type NpmStack } from './stack-env';

jest.setTimeout(420_000);

let stack: NpmStack;
const out = () => stack.output();
let stateDir: string;
let port: number;
const env = () => npmStartEnv(stateDir, port, { RAYVAULT_LOG_LEVEL: 'info' });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(ROOT, 'cli/bin/rayvault'), ...args], { env: env(), encoding: 'utf8' });
const runStatus = (id: string) => JSON.parse(cli('run', id, '--json')).status as string;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'npm-start-'));
  port = await freePort();
  stack = await startNpmStack(env());
});

afterAll(async () => {
  if (!stack) return; // a failed start killed its own group
  const pids = descendants(stack.proc.pid!);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  if (stack.proc.exitCode === null) stack.proc.kill('SIGKILL');
});

it('comes up ready with its own Redis and Postgres, and shows where everything is', async () => {
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  expect(out()).toContain(`dashboard   http://127.0.0.1:${port}/`);
  expect(out()).toMatch(/admin token \S{16,}/);
  // Both URLs carry the generated passwords (the file is the owner's only); before, Redis had none.
  const stackEnv = readFileSync(path.join(stateDir, 'stack.env'), 'utf8');
  expect(stackEnv).toMatch(
    /^REDIS_URL=redis:\/\/:[\w-]{32,}@127\.0\.0\.1:\d+\nDATABASE_URL=postgres:\/\/postgres:[\w-]{32,}@127\.0\.0\.1:\d+\/rayvault\n$/,
  );
  expect((statSync(path.join(stateDir, 'stack.env')).mode & 0o777).toString(8)).toBe('600');
});

it('says "running" only once both stage workers have registered: the first CLI call sees them', () => {
  expect(out()).toMatch(/workers registered \(evidence-worker-1, render-worker-1\)/);
  const ids = JSON.parse(cli('queues', '--json')).workers.map((w: { id: string }) => w.id);
  expect(ids).toEqual(expect.arrayContaining(['evidence-worker-1', 'render-worker-1']));
});

it('made its Postgres with the generated password: the old default `postgres` is refused', async () => {
  const url = new URL(readFileSync(path.join(stateDir, 'stack.env'), 'utf8').match(/^DATABASE_URL=(.*)$/m)![1]);
  url.password = 'postgres';
  const c = new pg.Client({ connectionString: url.toString() });
  await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
  await c.end().catch(() => undefined);
});

it('takes the consistent sample to done and stops the conflict sample at its gate', async () => {
  const [consistent, conflict] = readFileSync(path.join(stateDir, '.samples-submitted'), 'utf8').trim().split('\n');
  await waitFor('consistent sample done', () => runStatus(consistent) === 'done', 180_000, 1000);
  await waitFor('conflict sample gated', () => runStatus(conflict) === 'waiting_approval', 60_000, 1000);
});

it('restarts a killed service and the pipeline keeps working', async () => {
  const pids = new Set(descendants(stack.proc.pid!));
  const victim = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(.*)$/))
    .find(
      (m) =>
        m &&
        pids.has(Number(m[1])) &&
        /(services\/evidence-worker\/src\/main\.ts|dist\/evidence-worker\.js)/.test(m[2]),
    );
  expect(victim).toBeDefined();
  process.kill(Number(victim![1]), 'SIGKILL');
  await waitFor(
    'supervisor to restart evidence-worker',
    () => /evidence-worker exited \(SIGKILL\); restarting/.test(out()),
    10_000,
  );
  const run = JSON.parse(cli('runs', 'create', '--sample', 'consistent', '--json'));
  await waitFor('new run done after the restart', () => runStatus(run.id) === 'done', 180_000, 1000);
});

it('stops everything on SIGINT, services in reverse order, Redis and Postgres last', async () => {
  const pids = descendants(stack.proc.pid!);
  expect(pids.length).toBeGreaterThanOrEqual(7);
  // Ctrl-C in a terminal: SIGINT to the foreground process group (npm and the supervisor).
  process.kill(-stack.proc.pid!, 'SIGINT');
  await waitFor('the supervisor to report all stopped', () => out().includes('all stopped'), 60_000);
  const order = [...out().matchAll(/supervisor\s+\| stopping (\S+)/g)].map((m) => m[1]);
  expect(order).toEqual(['notifier', 'scheduler', 'render-worker', 'evidence-worker', 'ops-api', 'postgres', 'redis']);
  await waitFor('no process of the stack left', () => pids.every((p) => !alive(p)), 10_000);
});
