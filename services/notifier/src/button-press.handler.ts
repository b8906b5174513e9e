import { eventIds, type Logger, type Runtime } from '@rayvault/shared';
import type { Context } from 'telegraf';
import { escapeHtml } from './alert-format';
import { decodeButton } from './callback-data';
import { renderMessage, withNote, type MessageMap } from './message-map';
import { performPress, type PressOutcome } from './press-action';

export type PressDeps = {
  rt: Runtime;
  chatId: string;
  adminIds: ReadonlySet<string>;
  messages: MessageMap;
  log: Logger;
};

/**
 * callback_query handler. Every query is answered (Telegram shows a spinner
 * until then); only TELEGRAM_ADMIN_IDS may act, and only on a message in
 * TELEGRAM_CHAT_ID; the message is edited to say who did what, and the
 * buttons go once they no longer apply.
 */
export function createPressHandler(deps: PressDeps) {
  return async (ctx: Context): Promise<void> => {
    const q = ctx.callbackQuery;
    if (!q) return;
    const updateId = ctx.update.update_id;
    const from = q.from;
    const who = from.username ? `@${from.username}` : [from.first_name, from.last_name].filter(Boolean).join(' ');
    const log = deps.log.child({ updateId, telegramUser: from.id });
    const data = 'data' in q ? q.data : undefined;

    const chat = q.message?.chat;
    if (!chat || !isOurChat(chat, deps.chatId)) {
      log.warn({ data, chatId: chat?.id ?? null }, 'button press refused: not on a message in TELEGRAM_CHAT_ID');
      return answer(
        ctx,
        log,
        "⛔ Not allowed: this button is not on a RayVault alert in the operators' chat. Nothing was changed.",
      );
    }
    if (!deps.adminIds.has(String(from.id))) {
      log.warn({ data }, 'button press refused: user not in TELEGRAM_ADMIN_IDS');
      return answer(ctx, log, '⛔ Not allowed: you are not a RayVault operator. Nothing was changed.');
    }
    const button = data ? decodeButton(data) : null;
    if (!button) {
      log.warn({ data }, 'button press refused: callback data not made by this notifier');
      return answer(
        ctx,
        log,
        'Unknown or outdated button: nothing was changed. Use the newest alert or the dashboard.',
      );
    }

    let outcome: PressOutcome;
    try {
      outcome = await performPress(deps.rt, button, {
        actor: `telegram:${from.id}`,
        who,
        eventId: eventIds.telegramPress(updateId),
      });
    } catch (err) {
      log.error({ err, ...button }, 'button press could not be carried out');
      return answer(
        ctx,
        log,
        `Could not ${button.action} now (${(err as Error).message.slice(0, 80)}). Nothing was changed; press again in a moment.`,
      );
    }
    log.info({ ...button, answer: outcome.answer }, 'button press handled');
    await answer(ctx, log, outcome.answer);
    if (outcome.note) await showOutcome(ctx, deps, outcome, log);
  };
}

/** TELEGRAM_CHAT_ID is a numeric chat id or a public @username. */
function isOurChat(chat: { id: number; username?: string }, configured: string): boolean {
  if (String(chat.id) === configured) return true;
  return (
    configured.startsWith('@') && !!chat.username && `@${chat.username}`.toLowerCase() === configured.toLowerCase()
  );
}

async function answer(ctx: Context, log: Logger, text: string): Promise<void> {
  // A redelivered update's query was answered the first time; Telegram refuses a second answer.
  await ctx
    .answerCbQuery(text.slice(0, 200), { show_alert: true })
    .catch((err: unknown) => log.warn({ err }, 'callback query answer failed'));
}

async function showOutcome(ctx: Context, deps: PressDeps, outcome: PressOutcome, log: Logger): Promise<void> {
  const msg = ctx.callbackQuery?.message;
  if (!msg || !outcome.note) return;
  const hasButtons = 'reply_markup' in msg && !!msg.reply_markup?.inline_keyboard.length;
  if (outcome.retire && !hasButtons) return;
  const chatId = msg.chat.id;
  const known = await deps.messages.message(chatId, msg.message_id);
  const base = known ?? { html: escapeHtml('text' in msg ? msg.text : ''), dedupeKey: '', notes: [] };
  const next = withNote(base, outcome.note.id, outcome.note.html);
  await deps.messages.saveMessage(chatId, msg.message_id, next);
  try {
    await ctx.editMessageText(renderMessage(next), {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(outcome.keyboard ? { reply_markup: outcome.keyboard } : {}),
    });
  } catch (err) {
    // "message is not modified": a redelivered press re-rendered the same outcome.
    if (!/not modified/i.test((err as Error).message)) log.warn({ err }, 'could not edit the alert message');
  }
}
