// Without TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID the notifier keeps alerts
// queued and says so in the log, repeatedly; once configured, they arrive.
import { createLogger, createRuntime, type Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { createTestEnv, waitFor, type TestEnv } from '../support/harness';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier } from '@rayvault/notifier';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;
const lines: Array<{ level: string; msg: string; missing?: string[] }> = [];

beforeAll(async () => {
  t = await createTestEnv('notifier-unconfigured');
  rt = createRuntime(
    t.config,
    createLogger('notifier', 'warn', { write: (s: string) => void lines.push(JSON.parse(s)) }),
    { workerId: 'notifier' },
  );
  api = await startBotApiDouble();
});
afterAll(async () => {
  await api.close();
  await rt.releasers.close();
});

it('keeps alerts queued and warns every idleWarnMs; a configured notifier then delivers them', async () => {
  const run = await openGate(rt);
  const alert = gateAlert(run);
  await rt.alerter.raise(alert);
  const idle = createNotifier(rt, loadNotifierConfig(t.env), {
    chatId: '-1001',
    apiRoot: api.apiRoot,
    idleWarnMs: 150,
  });
  await idle.start();
  const warnings = () => lines.filter((l) => l.level === 'warn' && /not configured/.test(l.msg));
  await waitFor('repeated warnings', () => warnings().length >= 3);
  expect(warnings()[0].missing).toEqual(['TELEGRAM_BOT_TOKEN']);
  expect(warnings()[0].msg).toMatch(/alerts stay queued/);
  const [job] = await rt.alerter.queue.getJobs(['waiting']);
  expect(job?.data.dedupeKey).toBe(alert.dedupeKey);
  expect(api.calls).toEqual([]);
  await idle.close();
  const count = warnings().length;
  await new Promise((r) => setTimeout(r, 400));
  expect(warnings().length).toBe(count); // close stopped the reminder

  const live = createNotifier(rt, loadNotifierConfig(t.env), {
    botToken: api.token,
    chatId: '-1001',
    apiRoot: api.apiRoot,
    receiveUpdates: false,
  });
  await live.start();
  await waitFor('delivered once configured', () => api.sent.some((m) => m.text.includes(run.id)));
  await live.close();
  expect(api.sent.filter((m) => m.text.includes(run.id))).toHaveLength(1);
});
