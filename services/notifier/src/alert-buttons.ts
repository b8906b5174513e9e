import type { RunStatus } from '@rayvault/shared';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import { isPanicKind, type ParsedAlert } from './alert-format';
import { encodeButton, isRunStatus, type ButtonAction } from './callback-data';

const LABEL: Record<ButtonAction, string> = {
  approve: '✅ Approve',
  refetch: '🔄 Refetch',
  abort: '🛑 Abort',
  unlock: '🔓 Unlock',
  resume: '▶️ Resume',
};

/** The gate or panic a keyboard decides: one run, in one status, at one attempt. */
export type ButtonTarget = { runId: string; expected: RunStatus; attempt: number };

/** Which buttons an alert's kind calls for, and the run status they are made for. */
function plan(alert: ParsedAlert): { actions: ButtonAction[][]; expected: RunStatus } | null {
  if (!alert.runId) return null;
  const status = isRunStatus(alert.status) ? alert.status : undefined;
  if (alert.kind === 'gate' || alert.kind === 'stale_gate')
    return {
      actions: [
        ['approve', 'refetch'],
        ['abort', 'unlock'],
      ],
      expected: status ?? 'waiting_approval',
    };
  // A panicked run is resumed from its checkpoint or aborted; a failed one (dead letter) re-driven or aborted.
  if (isPanicKind(alert.kind) && (status ?? 'panic') === 'panic')
    return { actions: [['resume', 'abort'], ['unlock']], expected: 'panic' };
  if (alert.kind === 'dead_letter' && status === 'failed')
    return { actions: [['resume', 'abort']], expected: 'failed' };
  return null;
}

export function keyboard(target: ButtonTarget, rows: ButtonAction[][]): InlineKeyboardMarkup | undefined {
  const inline_keyboard: InlineKeyboardButton[][] = rows
    .map((row) =>
      row.map((action) => ({
        text: LABEL[action],
        callback_data: encodeButton({
          action,
          runId: target.runId,
          expected: target.expected,
          attempt: target.attempt,
        }),
      })),
    )
    .filter((row) => row.length > 0);
  return inline_keyboard.length ? { inline_keyboard } : undefined;
}

/**
 * The alert's buttons. An alert that does not say which attempt it is about
 * gets none (`withheld`): a button that cannot name its gate could decide a
 * later one.
 */
export function alertKeyboard(alert: ParsedAlert): { markup?: InlineKeyboardMarkup; withheld: boolean } {
  const p = plan(alert);
  if (!p) return { withheld: false };
  if (alert.attempt === undefined) return { withheld: true };
  return {
    markup: keyboard({ runId: alert.runId!, expected: p.expected, attempt: alert.attempt }, p.actions),
    withheld: false,
  };
}

/** After an unlock the run still waits for its decision: the same buttons without Unlock. */
export function decisionKeyboard(target: ButtonTarget): InlineKeyboardMarkup | undefined {
  const rows: ButtonAction[][] =
    target.expected === 'waiting_approval'
      ? [['approve', 'refetch'], ['abort']]
      : target.expected === 'panic'
        ? [['resume', 'abort']]
        : [];
  return keyboard(target, rows);
}
