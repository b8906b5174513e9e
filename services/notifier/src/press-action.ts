import {
  forceUnlockRun,
  IllegalTransitionError,
  RunNotFoundError,
  runOperatorAction,
  type Run,
  type Runtime,
} from '@rayvault/shared';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import { decisionKeyboard } from './alert-buttons';
import { escapeHtml } from './alert-format';
import { instanceName, type Button, type ButtonAction } from './callback-data';

/** What the presser is told, and how the message changes (no note: the message stays as it is). */
export type PressOutcome = {
  answer: string;
  note?: { id: string; html: string };
  /** Buttons after the edit; none means they are removed. */
  keyboard?: InlineKeyboardMarkup;
  /** The buttons no longer apply: edit only if the message still shows some. */
  retire?: boolean;
};
export type Presser = { actor: string; who: string; eventId: string };

const DONE: Record<ButtonAction, string> = {
  approve: '✅ Approved',
  refetch: '🔄 Refetch ordered',
  abort: '🛑 Aborted',
  unlock: '🔓 Unlocked',
  resume: '▶️ Resumed',
};
const isStale = (err: unknown) =>
  err instanceof IllegalTransitionError || (err as Error)?.name === 'IllegalTransitionError';
const isGone = (err: unknown) => err instanceof RunNotFoundError || (err as Error)?.name === 'RunNotFoundError';
const by = (p: Presser) => `by ${escapeHtml(p.who)} (<code>${escapeHtml(p.actor)}</code>)`;
const isCurrent = (run: Pick<Run, 'status' | 'attempt'>, b: Button) =>
  run.status === b.expected && run.attempt === b.attempt;

/**
 * Carries out one press. approve / refetch / abort / resume are one atomic
 * store call that is refused unless the run is still in the status and at the
 * attempt the button was made for (so an old message's Approve cannot decide
 * a gate opened after a refetch), and that records `eventId` (tg:<update_id>)
 * so the same update delivered again has no second effect.
 */
export async function performPress(rt: Runtime, b: Button, p: Presser): Promise<PressOutcome> {
  try {
    if (b.action === 'unlock') return await unlock(rt, b, p);
    const run = await runOperatorAction(rt, {
      runId: b.runId,
      action: b.action,
      actor: p.actor,
      expected: b.expected,
      expectedAttempt: b.attempt,
      eventId: p.eventId,
      reason: `${b.action} pressed in Telegram by ${p.who}`,
    });
    return {
      answer: `${DONE[b.action]}: run is now ${run.status}`,
      note: { id: p.eventId, html: `${DONE[b.action]} ${by(p)}: run is now <code>${run.status}</code>` },
    };
  } catch (err) {
    if (isStale(err)) return notCurrent(rt, b);
    if (isGone(err))
      return {
        answer: 'Run not found: nothing to do',
        retire: true,
        note: { id: 'gone', html: '⌛ Run not found: buttons retired' },
      };
    throw err;
  }
}

/** The run has moved past the gate or panic this button was made for: nothing changed, the buttons go. */
async function notCurrent(rt: Runtime, b: Button): Promise<PressOutcome> {
  const run = await rt.store.getRun(b.runId).catch(() => null);
  const what = instanceName(b.expected);
  const now = run ? `run is now ${run.status} (attempt ${run.attempt})` : 'run is in another state';
  const newer =
    run && run.status === b.expected ? `; decide the current ${what} from its newest alert or the dashboard` : '';
  return {
    answer: `This ${what} is no longer current: ${now}. Nothing was changed${newer}.`,
    retire: true,
    note: {
      id: `stale:${run?.status}:${run?.attempt}`,
      html: `⌛ This ${escapeHtml(what)} is no longer current: ${escapeHtml(now)}. Buttons retired.`,
    },
  };
}

/**
 * rpc_force_unlock_run has no event id, so a Redis marker per update makes a
 * redelivered press a no-op; it is removed again when nothing was changed.
 */
async function unlock(rt: Runtime, b: Button, p: Presser): Promise<PressOutcome> {
  const done: PressOutcome = {
    answer: '🔓 Unlocked: lease cleared, fencing token bumped',
    note: { id: p.eventId, html: `${DONE.unlock} ${by(p)}: lease cleared, fencing token bumped` },
    keyboard: decisionKeyboard(b),
  };
  const marker = `${rt.config.RAYVAULT_QUEUE_PREFIX}:notifier:press:${p.eventId}`;
  if (!(await rt.redis.set(marker, '1', 'EX', 7 * 86400, 'NX'))) return done;
  try {
    const run = await rt.store.getRun(b.runId);
    if (!run) throw new RunNotFoundError(`run ${b.runId} not found`);
    if (!isCurrent(run, b))
      throw new IllegalTransitionError(
        `run ${b.runId} is ${run.status} at attempt ${run.attempt}, not ${b.expected} at ${b.attempt}`,
      );
    const result = (await forceUnlockRun(rt, {
      runId: b.runId,
      operator: p.actor,
      reason: `Unlock pressed in Telegram by ${p.who}`,
    })) as { refused?: string | null };
    if (result.refused) {
      await rt.redis.del(marker);
      return { answer: `Unlock refused: ${result.refused}` };
    }
    return done;
  } catch (err) {
    await rt.redis.del(marker).catch(() => 0);
    throw err;
  }
}
