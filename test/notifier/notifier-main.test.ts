// The notifier as it is deployed: `main.ts` in its own process, configured by
// the environment, talking to the Bot API double; SIGTERM exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { createTestEnv, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;

beforeAll(async () => {
  t = await createTestEnv('notifier-main');
  rt = testRuntime(t, 'notifier-main-test');
  api = await startBotApiDouble();
});
afterAll(async () => {
  await api.close();
  await rt.releasers.close();
});

it('delivers a gate alert, honours an admin press, and shuts down cleanly on SIGTERM', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/notifier/src/main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...t.env,
      RAYVAULT_LOG_LEVEL: 'info',
      TELEGRAM_BOT_TOKEN: api.token,
      TELEGRAM_CHAT_ID: '-100900',
      TELEGRAM_ADMIN_IDS: '77',
      TELEGRAM_API_ROOT: api.apiRoot,
    },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    const run = await openGate(rt);
    await rt.alerter.raise(gateAlert(run));
    const msg = await waitFor('gate message', () => api.messages.find((m) => m.text.includes(run.id)), 30000);
    api.press({ fromId: 77, data: api.buttonData(msg, 'Approve')!, message: msg });
    await waitFor('approved', async () => (await rt.store.getRun(run.id))?.status === 'approved');
    expect(out).toContain('"msg":"notifier started"');
    expect(out).not.toContain(api.token.split(':')[1]); // the bot token never reaches a log line
  } finally {
    proc.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(out).toContain('shutting down gracefully');
}, 60000);
