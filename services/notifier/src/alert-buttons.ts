import type { RunStatus } from '@rayvault/shared';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import { isPanicKind, type ParsedAlert } from './alert-format';
import { encodeButton, isRunStatus, type ButtonAction } from './callback-data';

const LABEL: Record<ButtonAction, string> = { approve: '✅ Approve', refetch: '🔄 Refetch', abort: '🛑 Abort', unlock: '🔓 Unlock', resume: '▶️ Resume' };

/** Which buttons an alert carries, and the run status they are made for. */
function plan(alert: ParsedAlert): { actions: ButtonAction[][]; expected: RunStatus } | null {
  if (!alert.runId) return null;
  const status = isRunStatus(alert.status) ? alert.status : undefined;
  if (alert.kind === 'gate' || alert.kind === 'stale_gate') return { actions: [['approve', 'refetch'], ['abort', 'unlock']], expected: status ?? 'waiting_approval' };
  // A panicked run is resumed from its checkpoint or aborted; a failed one (dead letter) re-driven or aborted.
  if (isPanicKind(alert.kind) && (status ?? 'panic') === 'panic') return { actions: [['resume', 'abort'], ['unlock']], expected: 'panic' };
  if (alert.kind === 'dead_letter' && status === 'failed') return { actions: [['resume', 'abort']], expected: 'failed' };
  return null;
}

export function keyboard(runId: string, expected: RunStatus, rows: ButtonAction[][]): InlineKeyboardMarkup | undefined {
  const inline_keyboard: InlineKeyboardButton[][] = rows
    .map((row) => row.map((action) => ({ text: LABEL[action], callback_data: encodeButton({ action, runId, expected }) })))
    .filter((row) => row.length > 0);
  return inline_keyboard.length ? { inline_keyboard } : undefined;
}

export function alertKeyboard(alert: ParsedAlert): InlineKeyboardMarkup | undefined {
  const p = plan(alert);
  return p ? keyboard(alert.runId!, p.expected, p.actions) : undefined;
}

/** After an unlock the run still waits for its decision: the same buttons without Unlock. */
export function decisionKeyboard(runId: string, expected: RunStatus): InlineKeyboardMarkup | undefined {
  const rows: ButtonAction[][] = expected === 'waiting_approval' ? [['approve', 'refetch'], ['abort']]
    : expected === 'panic' ? [['resume', 'abort']] : [];
  return keyboard(runId, expected, rows);
}
