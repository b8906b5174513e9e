// Attacks with Telegram buttons that outlived what they were made for: an old
// gate's Approve after a Refetch, an old panic's Resume after a later panic,
// buttons from before the attempt was bound, a press from another chat. Real
// notifier (long polling) against the Bot API double, real Redis and Postgres.
import { runOperatorAction, type Alert, type Run, type Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import type { StoredMessage, Update } from '../fixtures/telegram/bot-api-state';
import { gateAlert, openGate, SAMPLE_DIFF } from '../fixtures/telegram/gate-run';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { decodeButton, encodeButton } from '@rayvault/notifier';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier, type Notifier } from '@rayvault/notifier';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;
let notifier: Notifier;
const ADMIN = 4242;
const CHAT = '-100555';

beforeAll(async () => {
  t = await createTestEnv('stale-buttons');
  rt = testRuntime(t, 'stale-buttons');
  api = await startBotApiDouble();
  notifier = createNotifier(rt, loadNotifierConfig({ ...t.env, TELEGRAM_ADMIN_IDS: String(ADMIN) }), {
    botToken: api.token,
    chatId: CHAT,
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

const queryId = (u: Update) => (u.callback_query as { id: string }).id;
const answerTo = (u: Update) =>
  waitFor(`answer to update ${u.update_id}`, () => api.callbackAnswers.find((a) => a.callback_query_id === queryId(u)));
const editsOf = (msg: StoredMessage) => api.edits.filter((e) => e.message_id === msg.message_id);
const press = (msg: StoredMessage, label: string) =>
  api.press({ fromId: ADMIN, data: api.buttonData(msg, label)!, message: msg });
const current = async (id: string) => (await rt.store.getRun(id))!;

async function alertMessage(alert: Alert, needle: string): Promise<StoredMessage> {
  await rt.alerter.raise(alert);
  return waitFor(`message ${needle}`, () => api.messages.find((m) => m.text.includes(needle)));
}

/**
 * What the evidence worker does after a refetch: claims the new attempt and stops at the gate again, with new evidence.
 */
async function regate(run: Run, diff: unknown[]): Promise<Run> {
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: run.attempt, workerId: 'w' });
  return rt.store.transition({
    runId: run.id,
    to: 'waiting_approval',
    fence: claim.run.fence,
    actor: 'w',
    payload: { diff },
    eventId: `${run.id}:evidence:${run.attempt}:gate`,
  });
}

/** A stage of the run's current attempt panics. */
async function panicNow(run: Run): Promise<Run> {
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: run.attempt, workerId: 'w' });
  return rt.store.transition({
    runId: run.id,
    to: 'panic',
    fence: claim.run.fence,
    actor: 'w',
    reason: 'checksum mismatch',
    payload: { kind: 'panic_integrity_failure', stage: 'evidence' },
    eventId: `${run.id}:evidence:${run.attempt}:panic`,
  });
}

const panicAlert = (run: Run): Alert => ({
  kind: 'panic_integrity_failure',
  runId: run.id,
  status: 'panic',
  attempt: run.attempt,
  title: `PANIC: run ${run.id} attempt ${run.attempt}`,
  text: 'checksum mismatch',
  dedupeKey: `panic:${run.id}:${run.attempt}`,
});

describe("an old message's buttons after the run moved on to a new gate or panic", () => {
  it("the first gate's Approve, pressed after a Refetch opened a second gate, approves nothing", async () => {
    const run = await openGate(rt);
    const first = await alertMessage(gateAlert(run), run.id);
    const approveFirst = api.buttonData(first, 'Approve')!;
    // Someone refetches from the dashboard; evidence is collected again and the run stops at a new gate with a new
    // diff.
    await runOperatorAction(rt, {
      runId: run.id,
      action: 'refetch',
      actor: 'dashboard:ana',
      expected: 'waiting_approval',
    });
    const newDiff = [
      {
        field: 'price',
        values: [
          { source: 'shop-a.example', tier: 5, value: '99.00 EUR' },
          { source: 'shop-c.example', tier: 4, value: '9.00 EUR' },
        ],
      },
    ];
    const regated = await regate(await current(run.id), newDiff);
    expect(regated).toMatchObject({ status: 'waiting_approval', attempt: 2 });

    const before = await current(run.id);
    const stale = api.press({ fromId: ADMIN, data: approveFirst, message: first });
    expect((await answerTo(stale)).text).toBe(
      'This gate is no longer current: run is now waiting_approval (attempt 2). Nothing was changed; decide the current gate from its newest alert or the dashboard.',
    );
    expect(await current(run.id)).toEqual(before);
    expect(before.events.filter((e) => e.type === 'approve')).toEqual([]);
    await waitFor('old buttons retired', () => editsOf(first).length);
    expect(first.reply_markup).toBeUndefined();
    expect(first.text).toContain('This gate is no longer current');

    // The second gate's own message decides it.
    const second = await alertMessage(gateAlert(regated, newDiff), '99.00 EUR');
    expect((await answerTo(press(second, 'Approve'))).text).toMatch(/Approved: run is now approved/);
    expect((await current(run.id)).status).toBe('approved');
  });

  it("the first gate's Abort and Unlock are refused too once a new gate is open", async () => {
    const run = await openGate(rt);
    const first = await alertMessage(gateAlert(run), run.id);
    const abort = api.buttonData(first, 'Abort')!;
    const unlock = api.buttonData(first, 'Unlock')!;
    await runOperatorAction(rt, {
      runId: run.id,
      action: 'refetch',
      actor: 'dashboard:ana',
      expected: 'waiting_approval',
    });
    await regate(await current(run.id), SAMPLE_DIFF);
    const before = await current(run.id);
    const u1 = api.press({ fromId: ADMIN, data: unlock, message: first });
    expect((await answerTo(u1)).text).toMatch(/^This gate is no longer current/);
    const u2 = api.press({ fromId: ADMIN, data: abort, message: first });
    expect((await answerTo(u2)).text).toMatch(/^This gate is no longer current/);
    expect(await current(run.id)).toEqual(before);
  });

  it("an old panic's Resume, pressed after the run was resumed and panicked again, resumes nothing", async () => {
    const created = await rt.store.createRun({ product: { name: 'Panic twice' }, actor: 'test' });
    const firstPanic = await panicNow(created);
    const first = await alertMessage(panicAlert(firstPanic), `attempt ${firstPanic.attempt}`);
    const resumeFirst = api.buttonData(first, 'Resume')!;
    const unlockFirst = api.buttonData(first, 'Unlock')!;
    await runOperatorAction(rt, { runId: created.id, action: 'resume', actor: 'dashboard:ana', expected: 'panic' });
    const secondPanic = await panicNow(await current(created.id));
    expect(secondPanic).toMatchObject({ status: 'panic', attempt: 2 });

    const before = await current(created.id);
    const u1 = api.press({ fromId: ADMIN, data: resumeFirst, message: first });
    expect((await answerTo(u1)).text).toMatch(
      /^This panic is no longer current: run is now panic \(attempt 2\)\. Nothing was changed/,
    );
    const u2 = api.press({ fromId: ADMIN, data: unlockFirst, message: first });
    expect((await answerTo(u2)).text).toMatch(/^This panic is no longer current/);
    expect(await current(created.id)).toEqual(before);
  });

  it('the store refuses an approval bound to an earlier attempt even when the run is back at a gate (no check-then-act gap)', async () => {
    const run = await openGate(rt);
    await runOperatorAction(rt, {
      runId: run.id,
      action: 'refetch',
      actor: 'dashboard:ana',
      expected: 'waiting_approval',
    });
    await regate(await current(run.id), SAMPLE_DIFF);
    await expect(
      runOperatorAction(rt, {
        runId: run.id,
        action: 'approve',
        actor: 'telegram:1',
        expected: 'waiting_approval',
        expectedAttempt: 1,
      }),
    ).rejects.toMatchObject({ name: 'IllegalTransitionError', message: expect.stringMatching(/attempt 2 now, not 1/) });
    expect((await current(run.id)).status).toBe('waiting_approval');
  });
});

describe('buttons that do not name the gate they were made for', () => {
  it('a button in the format from before the attempt was bound is refused', async () => {
    const run = await openGate(rt);
    const msg = await alertMessage(gateAlert(run), run.id);
    const before = await current(run.id);
    const legacy = `a:${run.id.replace(/-/g, '')}:w`;
    const u = api.press({ fromId: ADMIN, data: legacy, message: msg });
    expect((await answerTo(u)).text).toBe(
      'Unknown or outdated button: nothing was changed. Use the newest alert or the dashboard.',
    );
    expect(await current(run.id)).toEqual(before);
  });

  it('an alert that does not say which attempt it is about is sent without buttons, and says how to decide', async () => {
    const run = await openGate(rt);
    const { attempt: _dropped, ...alert } = gateAlert(run);
    const msg = await alertMessage({ ...alert, dedupeKey: `noattempt:${run.id}` }, run.id);
    expect(msg.reply_markup).toBeUndefined();
    expect(msg.text).toContain('No buttons: this alert does not say which gate or panic it is for');
  });

  it('every button names its attempt and still fits the 64 bytes of callback_data', () => {
    const b = {
      action: 'approve' as const,
      runId: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
      expected: 'waiting_approval' as const,
      attempt: 2 ** 31 - 1,
    };
    expect(Buffer.byteLength(encodeButton(b))).toBeLessThanOrEqual(64);
    expect(decodeButton(encodeButton(b))).toEqual(b);
  });
});

describe('a press that does not come from the operators’ chat', () => {
  it("an admin's press on a copy of a gate's buttons in another chat is refused and changes nothing", async () => {
    const run = await openGate(rt);
    const real = await alertMessage(gateAlert(run), run.id);
    // The same bot's message in another chat (another deployment on the token, a group it was added to) carrying this
    // run's buttons.
    api.state.sendMessage({ chat_id: '-100666', text: `look at ${run.id}`, reply_markup: real.reply_markup });
    const elsewhere = api.messages.find((m) => m.chat_id === '-100666' && m.text.includes(run.id))!;
    const before = await current(run.id);
    const u = api.press({ fromId: ADMIN, data: api.buttonData(elsewhere, 'Approve')!, message: elsewhere });
    expect((await answerTo(u)).text).toMatch(
      /^⛔ Not allowed: this button is not on a RayVault alert in the operators' chat/,
    );
    expect(await current(run.id)).toEqual(before);
    expect(editsOf(elsewhere)).toEqual([]);
  });
});
