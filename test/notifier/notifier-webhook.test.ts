// Presses through a webhook with secret_token: Telegram's POSTs are honoured,
// forged ones (no or wrong secret) are refused with 403 and change nothing.
import type { Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { createTestEnv, freePort, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier, type Notifier } from '@rayvault/notifier';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;
let notifier: Notifier;
let hookUrl: string;
const SECRET = 'rv-webhook-secret-0123456789';
const ADMIN = 31337;

beforeAll(async () => {
  t = await createTestEnv('notifier-webhook');
  rt = testRuntime(t, 'notifier-webhook');
  api = await startBotApiDouble();
  const port = await freePort();
  hookUrl = `http://127.0.0.1:${port}/telegram/hook`;
  notifier = createNotifier(rt, loadNotifierConfig(t.env), {
    botToken: api.token,
    chatId: '4242',
    apiRoot: api.apiRoot,
    adminIds: new Set([String(ADMIN)]),
    webhook: { url: hookUrl, secret: SECRET, port, host: '127.0.0.1' },
    retryBaseMs: 100,
    retryMaxMs: 400,
  });
  await notifier.start();
  await waitFor('webhook registered', () => api.state.webhook?.url === hookUrl);
});
afterAll(async () => {
  await notifier.close();
  await api.close();
  await rt.releasers.close();
});

it('registers the webhook with its secret token', () => {
  expect(api.state.webhook).toEqual({ url: hookUrl, secret_token: SECRET });
});

it('a press posted by Telegram approves once, even when Telegram posts it twice; forged posts get 403', async () => {
  const run = await openGate(rt);
  await rt.alerter.raise(gateAlert(run));
  const msg = await waitFor('gate message', () => api.messages.find((m) => m.text.includes(run.id)));
  const approve = api.buttonData(msg, 'Approve')!;

  // Forged: the right shape and an admin's id, but no secret, then a wrong one.
  const forged = {
    update_id: 1,
    callback_query: {
      id: 'f1',
      chat_instance: '1',
      data: approve,
      from: { id: ADMIN, is_bot: false, first_name: 'Eve' },
      message: api.state.toApi(msg),
    },
  };
  const before = await rt.store.getRun(run.id);
  for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'wrong-secret-0000000000' }] as Array<
    Record<string, string>
  >) {
    const res = await fetch(hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(forged),
    });
    expect(res.status).toBe(403);
  }
  expect(await rt.store.getRun(run.id)).toEqual(before);

  const update = api.press({ fromId: ADMIN, data: approve, message: msg });
  await waitFor('delivered to the webhook', () =>
    api.updates.webhookDeliveries.some((d) => d.update_id === update.update_id && d.status === 200),
  );
  const after = (await rt.store.getRun(run.id))!;
  expect(after.status).toBe('approved');
  expect(after.events.filter((e) => e.type === 'approve').map((e) => e.actor)).toEqual([`telegram:${ADMIN}`]);
  expect(
    api.callbackAnswers.filter((a) => a.callback_query_id === (update.callback_query as { id: string }).id),
  ).toHaveLength(1);
  expect(msg.reply_markup).toBeUndefined();

  api.redeliver(update);
  await waitFor(
    'posted again',
    () =>
      api.updates.webhookDeliveries.filter((d) => d.update_id === update.update_id && d.status === 200).length === 2,
  );
  expect(await rt.store.getRun(run.id)).toEqual(after);
});
