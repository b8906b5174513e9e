import { alertSchema, ALERTS_QUEUE, bumpCounter, type Logger } from '@rayvault/shared';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { RedisClient } from '@rayvault/shared';
import type { Telegram } from 'telegraf';
import type { InlineKeyboardMarkup, Message } from 'telegraf/types';
import { alertKeyboard } from './alert-buttons';
import { escapeHtml, formatAlert, htmlToPlain, type ParsedAlert } from './alert-format';
import { backoffMs, classifyDeliveryError, type DeliveryDecision } from './delivery-errors';
import type { MessageMap } from './message-map';

const WITHHELD =
  '<i>No buttons: this alert does not say which gate or panic it is for. Decide on the dashboard or with <code>rayvault approve|refetch|abort|resume</code>.</i>';

/** telegraf types its signal with the abort-controller shim; node-fetch accepts the native one. */
type CallSignal = NonNullable<Parameters<Telegram['callApi']>[2]>['signal'];

export type DeliveryDeps = {
  telegram: Telegram;
  chatId: string;
  messages: MessageMap;
  redis: RedisClient;
  prefix: string;
  log: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  apiTimeoutMs: number;
};

const count = (deps: DeliveryDeps, alert: ParsedAlert, result: string) =>
  bumpCounter(deps.redis, deps.prefix, 'telegram_deliveries', { kind: alert.kind, result });

/** Sends the alert as HTML, or as plain text when Telegram refused our HTML. */
function send(
  deps: DeliveryDeps,
  html: string,
  markup: InlineKeyboardMarkup | undefined,
  plain: boolean,
): Promise<Message.TextMessage> {
  const text = plain ? htmlToPlain(html) : html;
  // callApi (what telegram.sendMessage wraps) takes a signal: a hung Bot API must not hold the job
  // for telegraf's 500 s.
  return deps.telegram.callApi(
    'sendMessage',
    {
      chat_id: deps.chatId,
      text,
      ...(plain ? {} : { parse_mode: 'HTML' as const }),
      link_preview_options: { is_disabled: true },
      ...(markup ? { reply_markup: markup } : {}),
    },
    { signal: AbortSignal.timeout(deps.apiTimeoutMs) as CallSignal },
  );
}

/** A failed send: given up for good, or moved back to delayed without consuming an attempt. */
async function retryLater(
  deps: DeliveryDeps,
  job: Job,
  token: string | undefined,
  alert: ParsedAlert,
  d: DeliveryDecision,
  log: Logger,
): Promise<never> {
  await count(deps, alert, d.type);
  if (d.type === 'permanent' || d.type === 'bad_markup') {
    log.error({ reason: d.reason }, 'Telegram refused the alert for good: kept as a failed job');
    throw new UnrecoverableError(`Telegram refused the alert: ${d.reason}`);
  }
  const delayMs =
    d.type === 'rate_limited' ? d.retryAfterMs : backoffMs(job.attemptsStarted, deps.retryBaseMs, deps.retryMaxMs);
  log.warn(
    { reason: d.reason, delayMs },
    d.type === 'rate_limited' ? 'Telegram rate limit: waiting retry_after' : 'Bot API unreachable: alert retried later',
  );
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

/**
 * Processor of the `alerts` queue: one alert → one Telegram message. A job
 * whose alert was already delivered completes without sending (duplicates
 * collapse even after a crash between send and completion). A failed send is
 * moved back to delayed (no attempt consumed), so Bot API outages and 429s
 * are waited out rather than exhausting the job.
 */
export function createAlertProcessor(deps: DeliveryDeps) {
  return async (job: Job, token?: string): Promise<{ messageId: number; duplicate: boolean }> => {
    const parsed = alertSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid alert payload: ${parsed.error.message}`);
    const alert = parsed.data;
    const log = deps.log.child({
      queue: ALERTS_QUEUE,
      jobId: job.id,
      runId: alert.runId,
      kind: alert.kind,
      attempt: job.attemptsStarted,
    });

    const already = await deps.messages.delivered(alert.dedupeKey);
    if (already) {
      await count(deps, alert, 'duplicate');
      log.info({ messageId: already.messageId }, 'alert already delivered: not sent again');
      return { messageId: already.messageId, duplicate: true };
    }
    const { markup, withheld } = alertKeyboard(alert);
    const html = withheld ? `${formatAlert(alert)}\n\n${WITHHELD}` : formatAlert(alert);
    if (withheld) log.warn('alert names no attempt: sent without buttons');
    let sent: Message.TextMessage;
    let stored = html;
    try {
      sent = await send(deps, html, markup, false);
    } catch (err) {
      const d = classifyDeliveryError(err);
      if (d.type !== 'bad_markup') return retryLater(deps, job, token, alert, d, log);
      // A formatting bug must not lose the alert: it goes out as plain text.
      log.error({ reason: d.reason }, 'Telegram refused our HTML: resending as plain text');
      sent = await send(deps, html, markup, true).catch((e: unknown) =>
        retryLater(deps, job, token, alert, classifyDeliveryError(e), log),
      );
      stored = escapeHtml(htmlToPlain(html));
    }
    const chatId = String(sent.chat.id);
    await deps.messages.recordDelivery(
      alert.dedupeKey,
      { chatId, messageId: sent.message_id, at: new Date().toISOString() },
      { html: stored, dedupeKey: alert.dedupeKey, runId: alert.runId, notes: [] },
    );
    await count(deps, alert, 'sent');
    log.info({ messageId: sent.message_id }, 'alert delivered to Telegram');
    return { messageId: sent.message_id, duplicate: false };
  };
}
