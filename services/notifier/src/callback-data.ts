import { RUN_STATUSES, type RunStatus } from '@rayvault/shared';

/**
 * Inline-button payloads. Telegram allows 64 bytes of callback_data, so a
 * button is `<action>:<run id without dashes>:<expected status>:<attempt>`,
 * action and status in single letters and the attempt in base 36, e.g.
 * `a:3f2c...9e:w:1` (38 bytes; 44 at most). Status and attempt together name
 * the one gate or panic the button was made for: refetch and resume, the only
 * ways out of a gate or a panic, start a new attempt.
 */
export const BUTTON_ACTIONS = ['approve', 'refetch', 'abort', 'unlock', 'resume'] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];
export type Button = { action: ButtonAction; runId: string; expected: RunStatus; attempt: number };

const ACTION_CODE: Record<ButtonAction, string> = { approve: 'a', refetch: 'r', abort: 'x', unlock: 'u', resume: 's' };
const STATUS_CODE: Record<RunStatus, string> = {
  queued: 'q',
  running: 'r',
  waiting_approval: 'w',
  approved: 'a',
  done: 'd',
  failed: 'f',
  aborted: 'x',
  panic: 'p',
};
const invert = <K extends string>(m: Record<K, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<string, K>;
const ACTION_BY_CODE = invert(ACTION_CODE);
const STATUS_BY_CODE = invert(STATUS_CODE);

export function encodeButton(b: Button): string {
  return `${ACTION_CODE[b.action]}:${b.runId.replace(/-/g, '')}:${STATUS_CODE[b.expected]}:${b.attempt.toString(36)}`;
}

/** null for anything this notifier did not make (buttons from before the attempt was bound, other bots, tampering). */
export function decodeButton(data: string): Button | null {
  const m = /^([a-z]):([0-9a-f]{32}):([a-z]):([0-9a-z]{1,7})$/.exec(data);
  if (!m) return null;
  const action = ACTION_BY_CODE[m[1]];
  const expected = STATUS_BY_CODE[m[3]];
  if (!action || !expected) return null;
  const h = m[2];
  return {
    action,
    expected,
    attempt: parseInt(m[4], 36),
    runId: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
  };
}

export function isRunStatus(s: string | undefined): s is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(s ?? '');
}

/** What the operator calls the thing a button decides, for "this gate is no longer current". */
export function instanceName(expected: RunStatus): string {
  return expected === 'waiting_approval' ? 'gate' : expected === 'failed' ? 'dead letter' : expected;
}
