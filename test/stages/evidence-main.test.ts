// The evidence-worker service as its own process: it migrates, consumes the
// evidence queue, and on SIGTERM stops taking jobs and exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { submitRun, type Runtime } from '@rayvault/shared';
import { loadSample } from '@rayvault/shared';
import { createTestEnv, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';

let t: TestEnv;
let rt: Runtime;

beforeAll(async () => {
  t = await createTestEnv('evidence-main');
  rt = testRuntime(t, 'evidence-main-client');
});
afterAll(() => rt.releasers.close());

it('services/evidence-worker/src/main.ts collects evidence, then shuts down gracefully on SIGTERM', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/evidence-worker/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...t.env,
      RAYVAULT_WORKER_ID: 'ev-main-1',
      RAYVAULT_LOG_LEVEL: 'info',
      RAYVAULT_GATING_TIERS: '4,5',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  try {
    const run = await submitRun(rt, { product: await loadSample('consistent'), actor: 'test' });
    const passed = await waitFor(
      'evidence done by the service',
      async () => {
        const r = await rt.store.getRun(run.id);
        return r?.stage === 'voice' ? r : null;
      },
      30000,
    );
    expect(passed.events.find((e) => e.type === 'stage_claimed')!.actor).toBe('ev-main-1');
  } finally {
    proc.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(out).toContain('"msg":"worker stopped"');
  const [worker] = (await rt.store.listWorkers()).filter((w) => w.id === 'ev-main-1');
  expect(worker).toMatchObject({ state: 'idle', current_run: null });
});
