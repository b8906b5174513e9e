// Button presses over long polling against the Bot API double: allowlist,
// stale buttons, redelivered updates, unlock — run state compared before/after.
import { runOperatorAction, type Run, type Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import type { StoredMessage, Update } from '../fixtures/telegram/bot-api-state';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { decodeButton } from '@rayvault/notifier';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier, type Notifier } from '@rayvault/notifier';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;
let notifier: Notifier;
const ADMIN = 4242;
const STRANGER = 999;

beforeAll(async () => {
  t = await createTestEnv('notifier-press');
  rt = testRuntime(t, 'notifier-press');
  api = await startBotApiDouble();
  notifier = createNotifier(rt, loadNotifierConfig({ ...t.env, TELEGRAM_ADMIN_IDS: `7, ${ADMIN}` }), {
    botToken: api.token,
    chatId: '-100555',
    apiRoot: api.apiRoot,
    retryBaseMs: 100,
    retryMaxMs: 400,
  });
  await notifier.start();
});
afterAll(async () => {
  await notifier.close();
  await api.close();
  await rt.releasers.close();
});

/** A run at the gate and its Telegram message. */
async function gateMessage(): Promise<{ run: Run; msg: StoredMessage }> {
  const run = await openGate(rt);
  await rt.alerter.raise(gateAlert(run));
  const msg = await waitFor('gate message', () => api.messages.find((m) => m.text.includes(run.id)));
  return { run, msg };
}

const queryId = (u: Update) => (u.callback_query as { id: string }).id;
const answerTo = (u: Update) =>
  waitFor(`answer to update ${u.update_id}`, () => api.callbackAnswers.find((a) => a.callback_query_id === queryId(u)));
const editsOf = (msg: StoredMessage) => api.edits.filter((e) => e.message_id === msg.message_id);
const refusedAnswers = () => api.calls.filter((c) => c.method === 'answercallbackquery' && c.status === 400).length;
const buttons = (msg: StoredMessage) =>
  msg.reply_markup?.inline_keyboard.flat().map((b) => decodeButton(b.callback_data!)!.action);

it("a stranger's press changes nothing and is answered 'not allowed'", async () => {
  const { run, msg } = await gateMessage();
  const before = await rt.store.getRun(run.id);
  const update = api.press({ fromId: STRANGER, data: api.buttonData(msg, 'Approve')!, message: msg });
  expect((await answerTo(update)).text).toMatch(/not allowed/i);
  expect(await rt.store.getRun(run.id)).toEqual(before);
  expect(editsOf(msg)).toEqual([]);
  expect(buttons(msg)).toEqual(['approve', 'refetch', 'abort', 'unlock']);
});

it('an allowlisted press approves: run approved, event by telegram:<id>, message edited, buttons gone', async () => {
  const { run, msg } = await gateMessage();
  const update = api.press({ fromId: ADMIN, username: 'ray', data: api.buttonData(msg, 'Approve')!, message: msg });
  expect((await answerTo(update)).text).toMatch(/Approved: run is now approved/);
  const after = (await rt.store.getRun(run.id))!;
  expect(after.status).toBe('approved');
  expect(after.events.filter((e) => e.type === 'approve')).toEqual([
    expect.objectContaining({ actor: `telegram:${ADMIN}`, id: `tg:${update.update_id}` }),
  ]);
  expect(await rt.queues.voice.getJob(`${run.id}:voice:1`)).toBeDefined();
  await waitFor('message edited', () => editsOf(msg).length);
  expect(msg.text).toContain('GATE');
  expect(msg.text).toContain(`Approved by @ray (telegram:${ADMIN}): run is now approved`);
  expect(msg.reply_markup).toBeUndefined();
});

it('a button whose gate was decided elsewhere is refused: nothing changes, the presser is told the run state', async () => {
  const { run, msg } = await gateMessage();
  const approve = api.buttonData(msg, 'Approve')!;
  const abort = api.buttonData(msg, 'Abort')!;
  // Decided elsewhere (the dashboard) while the Telegram buttons are still showing.
  await runOperatorAction(rt, {
    runId: run.id,
    action: 'approve',
    actor: 'dashboard:ana',
    expected: 'waiting_approval',
  });
  const before = await rt.store.getRun(run.id);
  const u1 = api.press({ fromId: ADMIN, data: abort, message: msg });
  expect((await answerTo(u1)).text).toBe(
    'This gate is no longer current: run is now approved (attempt 1). Nothing was changed.',
  );
  expect(await rt.store.getRun(run.id)).toEqual(before);
  await waitFor('buttons retired', () => editsOf(msg).length);
  expect(msg.reply_markup).toBeUndefined();
  expect(msg.text).toContain('This gate is no longer current: run is now approved (attempt 1). Buttons retired.');
  // The same stale press again (an old client still shows the button): refused again, still no change.
  const u2 = api.press({ fromId: ADMIN, data: approve, message: msg });
  expect((await answerTo(u2)).text).toBe(
    'This gate is no longer current: run is now approved (attempt 1). Nothing was changed.',
  );
  expect(await rt.store.getRun(run.id)).toEqual(before);
  expect(editsOf(msg)).toHaveLength(1);
});

it('the same update delivered twice has one effect', async () => {
  const { run, msg } = await gateMessage();
  const update = api.press({ fromId: ADMIN, data: api.buttonData(msg, 'Refetch')!, message: msg });
  await answerTo(update);
  await waitFor('edited', () => editsOf(msg).length);
  const once = await rt.store.getRun(run.id);
  expect(once!.status).toBe('running');
  expect(once!.refetch_count).toBe(1);
  const refused = refusedAnswers();
  api.redeliver(update);
  // The second handling ends by trying to answer the (already answered) query again: Telegram refuses that.
  await waitFor('redelivery handled', () => refusedAnswers() > refused);
  const twice = (await rt.store.getRun(run.id))!;
  expect(twice).toEqual(once);
  expect(twice.events.filter((e) => e.type === 'refetch')).toHaveLength(1);
  expect(editsOf(msg)).toHaveLength(1);
});

it('Unlock force-clears the lock as telegram:<id>, once, and leaves the decision buttons', async () => {
  const { run, msg } = await gateMessage();
  const fence = run.fence;
  const update = api.press({ fromId: ADMIN, data: api.buttonData(msg, 'Unlock')!, message: msg });
  expect((await answerTo(update)).text).toMatch(/Unlocked/);
  await waitFor('edited', () => editsOf(msg).length);
  const after = (await rt.store.getRun(run.id))!;
  expect(after.status).toBe('waiting_approval');
  expect(after.fence).toBe(fence + 1);
  expect(after.events.filter((e) => e.type === 'force_unlock').map((e) => e.actor)).toEqual([`telegram:${ADMIN}`]);
  expect(buttons(msg)).toEqual(['approve', 'refetch', 'abort']);
  const refused = refusedAnswers();
  api.redeliver(update);
  await waitFor('redelivery handled', () => refusedAnswers() > refused);
  expect((await rt.store.getRun(run.id))!.events.filter((e) => e.type.startsWith('force_unlock'))).toHaveLength(1);
  // The remaining buttons still work, and carry the outcome of both presses.
  const approve = api.press({ fromId: 7, data: api.buttonData(msg, 'Approve')!, message: msg });
  expect((await answerTo(approve)).text).toMatch(/Approved/);
  await waitFor('second edit', () => editsOf(msg).length === 2);
  expect(msg.text).toMatch(/Unlocked by User4242[\s\S]*Approved by User7/);
});

it('a button this notifier did not make is refused and changes nothing', async () => {
  const { run, msg } = await gateMessage();
  const before = await rt.store.getRun(run.id);
  const update = api.press({ fromId: ADMIN, data: `a:${run.id}:w`, message: msg });
  expect((await answerTo(update)).text).toMatch(/Unknown or outdated button/);
  expect(await rt.store.getRun(run.id)).toEqual(before);
});
