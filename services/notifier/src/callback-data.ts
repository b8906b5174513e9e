import { RUN_STATUSES, type RunStatus } from '@rayvault/shared';

/**
 * Inline-button payloads. Telegram allows 64 bytes of callback_data, so a
 * button is `<action>:<run id without dashes>:<expected status>` in single
 * letters, e.g. `a:3f2c...9e:w` (36 bytes).
 */
export const BUTTON_ACTIONS = ['approve', 'refetch', 'abort', 'unlock', 'resume'] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];
export type Button = { action: ButtonAction; runId: string; expected: RunStatus };

const ACTION_CODE: Record<ButtonAction, string> = { approve: 'a', refetch: 'r', abort: 'x', unlock: 'u', resume: 's' };
const STATUS_CODE: Record<RunStatus, string> = {
  queued: 'q', running: 'r', waiting_approval: 'w', approved: 'a', done: 'd', failed: 'f', aborted: 'x', panic: 'p',
};
const invert = <K extends string>(m: Record<K, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<string, K>;
const ACTION_BY_CODE = invert(ACTION_CODE);
const STATUS_BY_CODE = invert(STATUS_CODE);

export function encodeButton(b: Button): string {
  return `${ACTION_CODE[b.action]}:${b.runId.replace(/-/g, '')}:${STATUS_CODE[b.expected]}`;
}

/** null for anything this notifier did not make (old formats, other bots, tampering). */
export function decodeButton(data: string): Button | null {
  const m = /^([a-z]):([0-9a-f]{32}):([a-z])$/.exec(data);
  if (!m) return null;
  const action = ACTION_BY_CODE[m[1]];
  const expected = STATUS_BY_CODE[m[3]];
  if (!action || !expected) return null;
  const h = m[2];
  return { action, expected, runId: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
}

export function isRunStatus(s: string | undefined): s is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(s ?? '');
}
