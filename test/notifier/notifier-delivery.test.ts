// Alerts → Telegram against the Bot API double: formatting, buttons,
// duplicates, 429 retry_after, outages (nothing lost, nothing sent twice).
import { ALERT_KINDS, PANIC_ADVICE, readCounters, type Alert, type Runtime } from '@rayvault/shared';
import { BotApiDouble, startBotApiDouble, type DownMode } from '../fixtures/telegram/bot-api-double';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { decodeButton } from '@rayvault/notifier';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier, type Notifier } from '@rayvault/notifier';

let t: TestEnv;
let rt: Runtime;
let api: BotApiDouble;
let notifier: Notifier;
const CHAT = '-100777';

beforeAll(async () => {
  t = await createTestEnv('notifier-delivery');
  rt = testRuntime(t, 'notifier-delivery');
  api = await startBotApiDouble();
  // Send-only: presses are covered in notifier-press.test.ts; here polling would only add noise during outages.
  notifier = createNotifier(rt, loadNotifierConfig(t.env), {
    botToken: api.token,
    chatId: CHAT,
    apiRoot: api.apiRoot,
    receiveUpdates: false,
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

const sentFor = (needle: string) => api.sent.filter((m) => m.text.includes(needle));
const arrived = (needle: string) =>
  waitFor(`message with ${needle}`, () => (sentFor(needle).length ? sentFor(needle) : undefined));
const jobOf = (a: Alert) =>
  rt.alerter.queue
    .getJobs(['completed', 'failed', 'waiting', 'delayed', 'active'])
    .then((js) => js.filter((j) => j.data.dedupeKey === a.dedupeKey));

it('a gate alert arrives with the evidence diff, escaped, and the four buttons for waiting_approval', async () => {
  const run = await openGate(rt);
  await rt.alerter.raise(gateAlert(run));
  const [msg] = await arrived(run.id);
  expect(msg.chat_id).toBe(CHAT);
  expect(msg.parse_mode).toBe('HTML');
  expect(msg.text).toContain('GATE');
  expect(msg.text).toContain('price & voltage differ');
  // The diff as the operator reads it, with the source's markup shown literally, not interpreted.
  expect(msg.text).toMatch(
    /price\n\s+tier 5 · shop-a\.example: 19\.99 EUR\n\s+tier 4 · <b>shop-b<\/b> & co: 24\.99 EUR/,
  );
  expect(msg.text).toMatch(/voltage\n\s+tier 5 · shop-a\.example: 230 V\n\s+tier 5 · maker\.example: 110 V/);
  const buttons = msg.reply_markup!.inline_keyboard.flat();
  expect(buttons.map((b) => b.text.replace(/^\W+/u, ''))).toEqual(['Approve', 'Refetch', 'Abort', 'Unlock']);
  expect(buttons.map((b) => decodeButton(b.callback_data!))).toEqual(
    ['approve', 'refetch', 'abort', 'unlock'].map((action) => ({
      action,
      runId: run.id,
      expected: 'waiting_approval',
      attempt: 1,
    })),
  );
  for (const b of buttons) expect(Buffer.byteLength(b.callback_data!)).toBeLessThanOrEqual(64);
  // Counted just after the send is recorded, which may be a moment after the message reached the double.
  await waitFor(
    'delivery counted',
    async () => (await readCounters(rt.redis, t.prefix))['telegram_deliveries{kind="gate",result="sent"}'] >= 1,
  );
});

it('every alert kind has its title; panics carry their advice and resume/abort/unlock buttons', async () => {
  const run = await openGate(rt);
  const labels: Record<string, string> = {
    stale_worker: 'STALE WORKER',
    lost_lock: 'LOST LOCK',
    contract_fail: 'CONTRACT FAIL',
    stale_gate: 'STALE_GATE',
    dead_letter: 'DEAD LETTER',
    doctor: 'DOCTOR',
  };
  for (const kind of ALERT_KINDS.filter((k) => k !== 'gate')) {
    const panic = kind.startsWith('panic_');
    await rt.alerter.raise({
      kind,
      runId: run.id,
      status: panic ? 'panic' : undefined,
      attempt: panic ? run.attempt : undefined,
      title: `t-${kind}`,
      text: `x-${kind}`,
      dedupeKey: `kinds:${kind}`,
    });
    const [m] = await arrived(`t-${kind}`);
    if (panic) {
      expect(m.text).toContain(`PANIC ${kind}`);
      expect(m.text).toContain(PANIC_ADVICE[kind as keyof typeof PANIC_ADVICE]);
      expect(m.reply_markup!.inline_keyboard.flat().map((b) => decodeButton(b.callback_data!)!.action)).toEqual([
        'resume',
        'abort',
        'unlock',
      ]);
    } else {
      expect(m.text.split('\n')[0]).toContain(labels[kind]);
    }
  }
  expect(sentFor('t-stale_worker')[0].reply_markup).toBeUndefined();
});

it('duplicates collapse: at the queue, and after a successful send even when the job runs again', async () => {
  const run = await openGate(rt);
  const alert = gateAlert(run);
  await rt.alerter.raise(alert);
  await rt.alerter.raise(alert);
  await waitFor('delivered', () => sentFor(run.id).length);
  const [job] = await jobOf(alert);
  await waitFor('job completed', async () => (await job.getState()) === 'completed');
  // The completed job is gone (retention), and the producer raises it again: the message map still knows it.
  await job.remove();
  await rt.alerter.raise(alert);
  await waitFor('second job completed', async () => (await jobOf(alert))[0]?.returnvalue?.duplicate === true);
  expect(sentFor(run.id)).toHaveLength(1);
});

it('429 with retry_after: the alert waits that long, then is delivered once without using an attempt', async () => {
  const run = await openGate(rt);
  api.failNext({ method: 'sendMessage', times: 2, status: 429, retryAfter: 1 });
  await rt.alerter.raise(gateAlert(run));
  await waitFor('delivered after 429s', () => sentFor(run.id).length);
  const sends = api.calls.filter((c) => c.method === 'sendmessage').slice(-3);
  expect(sends.map((c) => c.status)).toEqual([429, 429, 200]);
  // retry_after is a lower bound the notifier must respect.
  expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(950);
  expect(sends[2].at - sends[1].at).toBeGreaterThanOrEqual(950);
  const [job] = await jobOf(gateAlert(run));
  await waitFor('completed', async () => (await job.getState()) === 'completed');
  expect((await rt.alerter.queue.getJob(job.id!))!.attemptsMade).toBeLessThanOrEqual(1);
  expect(sentFor(run.id)).toHaveLength(1);
});

it.each<DownMode>(['reset', '502', 'refuse'])(
  'Bot API down (%s) then up: the alert still arrives, exactly once',
  async (mode) => {
    const run = await openGate(rt);
    const before = api.calls.length;
    await api.down(mode);
    await rt.alerter.raise(gateAlert(run));
    if (mode === 'refuse') {
      await waitFor('retries while refused', async () => (await jobOf(gateAlert(run)))[0]?.attemptsStarted >= 3);
    } else {
      await waitFor(
        'failed tries',
        () => api.calls.slice(before).filter((c) => c.method === 'sendmessage').length >= 3,
      );
    }
    expect(sentFor(run.id)).toHaveLength(0);
    await api.up();
    await waitFor('delivered after the outage', () => sentFor(run.id).length);
    const [job] = await jobOf(gateAlert(run));
    await waitFor('completed', async () => (await job.getState()) === 'completed');
    expect(sentFor(run.id)).toHaveLength(1);
  },
);
