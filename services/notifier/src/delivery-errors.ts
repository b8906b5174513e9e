import { TelegramError } from 'telegraf';

/**
 * What to do after a failed Bot API call. Rate limits wait exactly what
 * Telegram asked; outages (network, timeouts, 5xx) and configuration problems
 * that an operator can fix (bad token, bot removed from the chat) retry with
 * capped backoff, so no alert is lost; only a message Telegram will never
 * accept (400) is permanent.
 */
export type DeliveryDecision =
  | { type: 'rate_limited'; retryAfterMs: number; reason: string }
  | { type: 'outage'; reason: string }
  | { type: 'bad_markup'; reason: string }
  | { type: 'permanent'; reason: string };

export function isTelegramError(err: unknown): err is TelegramError {
  return (
    err instanceof TelegramError ||
    (err instanceof Error && typeof (err as { response?: { error_code?: unknown } }).response?.error_code === 'number')
  );
}

export function classifyDeliveryError(err: unknown): DeliveryDecision {
  if (isTelegramError(err)) {
    const code = err.code;
    const reason = `${code}: ${err.description}`;
    if (code === 429)
      return {
        type: 'rate_limited',
        retryAfterMs: Math.max(1, Number(err.parameters?.retry_after ?? 5)) * 1000,
        reason,
      };
    if (code >= 500 || code === 401 || code === 403 || code === 404 || code === 409) return { type: 'outage', reason };
    // A wrong TELEGRAM_CHAT_ID is fixed by the operator; the alert waits for it.
    if (code === 400 && /chat not found/i.test(err.description)) return { type: 'outage', reason };
    if (code === 400 && /can't parse entities/i.test(err.description)) return { type: 'bad_markup', reason };
    return { type: 'permanent', reason };
  }
  // node-fetch FetchError (refused, reset, DNS), our timeout's AbortError, invalid JSON from a proxy page.
  return { type: 'outage', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

/** Exponential backoff with ±20 % jitter, capped. `tries` counts from 1. */
export function backoffMs(tries: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(tries - 1, 0), 30));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}
