import { PANIC_ADVICE, PANIC_KINDS, type alertSchema, type AlertKind, type PanicKind } from '@rayvault/shared';
import { z } from 'zod';

export type ParsedAlert = ReturnType<typeof alertSchema.parse>;

/** Telegram refuses more than 4096 characters; the diff is cut before that, with a count of what was left out. */
const MAX_HTML = 3900;

const LABELS: Record<Exclude<AlertKind, PanicKind>, string> = {
  gate: '🚦 <b>GATE</b> · approval needed',
  stale_worker: '⚠️ <b>STALE WORKER</b>',
  lost_lock: '🔒 <b>LOST LOCK</b>',
  contract_fail: '❌ <b>CONTRACT FAIL</b>',
  stale_gate: '⏰ <b>STALE_GATE</b> reminder: a decision is still pending',
  dead_letter: '☠️ <b>DEAD LETTER</b>',
  doctor: '🩺 <b>DOCTOR</b>',
};

const diffSchema = z.array(
  z.object({
    field: z.string(),
    values: z
      .array(
        z.object({
          source: z.string().optional(),
          tier: z.union([z.number(), z.string()]).optional(),
          value: z.unknown(),
        }),
      )
      .default([]),
  }),
);

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The plain text of our own HTML, for the rare resend without parse mode. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const show = (v: unknown) => clip(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)), 300);
export const isPanicKind = (k: string): k is PanicKind => (PANIC_KINDS as readonly string[]).includes(k);

export function kindLabel(kind: AlertKind): string {
  return isPanicKind(kind) ? `🛑 <b>PANIC</b> <code>${kind}</code>` : LABELS[kind];
}

/** Evidence diff: per field, each source's value with its tier, so the operator sees the conflict. */
export function formatDiff(raw: unknown, budget: number): string[] {
  const parsed = diffSchema.safeParse(raw);
  if (!parsed.success || !parsed.data.length) return [];
  const lines = ['', '<b>Evidence diff</b>'];
  let used = lines.join('\n').length;
  for (const [i, d] of parsed.data.entries()) {
    const block = [
      `• <b>${escapeHtml(d.field)}</b>`,
      ...d.values.map(
        (v) =>
          `   tier ${escapeHtml(String(v.tier ?? '?'))} · ${escapeHtml(clip(v.source ?? '?', 80))}: <code>${escapeHtml(show(v.value))}</code>`,
      ),
    ].join('\n');
    if (used + block.length + 1 > budget) {
      lines.push(`… ${parsed.data.length - i} more field(s): see the dashboard`);
      break;
    }
    lines.push(block);
    used += block.length + 1;
  }
  return lines;
}

/** Other details as `key: value` lines (scalars and short values only). */
function formatDetails(details: Record<string, unknown>): string[] {
  const entries = Object.entries(details)
    .filter(([k, v]) => k !== 'diff' && v !== undefined && v !== null)
    .slice(0, 8);
  return entries.map(([k, v]) => `${escapeHtml(k)}: <code>${escapeHtml(clip(show(v), 200))}</code>`);
}

/** The message of one alert in Telegram's HTML parse mode; every producer-supplied string is escaped. */
export function formatAlert(alert: ParsedAlert): string {
  const lines = [kindLabel(alert.kind), `<b>${escapeHtml(clip(alert.title, 300))}</b>`];
  if (alert.text) lines.push(escapeHtml(clip(alert.text, 1200)));
  const meta = [
    alert.runId && `run <code>${alert.runId}</code>`,
    alert.status && `status <code>${escapeHtml(alert.status)}</code>`,
    alert.workerId && `worker <code>${escapeHtml(alert.workerId)}</code>`,
    alert.traceId && `trace <code>${alert.traceId}</code>`,
  ].filter(Boolean);
  if (meta.length) lines.push(meta.join(' · '));
  if (isPanicKind(alert.kind)) lines.push(`<i>What to do:</i> ${escapeHtml(PANIC_ADVICE[alert.kind])}`);
  const details = formatDetails(alert.details);
  if (details.length) lines.push('', ...details);
  const head = lines.join('\n');
  return [head, ...formatDiff(alert.details.diff, MAX_HTML - head.length)].join('\n');
}
