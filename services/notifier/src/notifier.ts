import { ALERTS_QUEUE, queuePrefix, type Logger, type Runtime } from '@rayvault/shared';
import { Worker } from 'bullmq';
import { Telegraf, type Telegram } from 'telegraf';
import { createAlertProcessor } from './alert-delivery.processor';
import { createPressHandler } from './button-press.handler';
import { resolveNotifierOptions, type NotifierConfig, type NotifierOptions } from './config.schema';
import { createMessageMap, type MessageMap } from './message-map';
import { createUpdateReceiver } from './update-receiver';

export type Notifier = {
  readonly options: NotifierOptions;
  /** Consumes alerts and listens for presses; without a bot token or chat id it only warns, leaving alerts queued. */
  start(): Promise<void>;
  /** Idempotent: stops taking alerts and presses, lets the one in hand finish. */
  close(): Promise<void>;
  /** Port of the webhook receiver (0 when polling or not started). */
  webhookPort(): number;
};

/**
 * Telegram side of RayVault: the `alerts` queue → messages, inline buttons → operator actions. Options from `config`,
 * then `overrides`.
 */
export function createNotifier(
  rt: Runtime,
  config: NotifierConfig,
  overrides: Partial<NotifierOptions> = {},
): Notifier {
  const options = resolveNotifierOptions(config, overrides);
  const log = rt.log.child({ component: 'notifier' });
  let worker: Worker | undefined;
  let receiver: ReturnType<typeof createUpdateReceiver> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  async function warnUnconfigured(): Promise<void> {
    const missing = [!options.botToken && 'TELEGRAM_BOT_TOKEN', !options.chatId && 'TELEGRAM_CHAT_ID'].filter(Boolean);
    const queued = await rt.alerter.queue.getJobCounts('waiting', 'delayed', 'prioritized').catch(() => null);
    log.warn(
      { missing, queued },
      `Telegram is not configured (${missing.join(', ')} missing): alerts stay queued and nothing is sent until it is set and the notifier restarts`,
    );
  }

  return {
    options,
    webhookPort: () => receiver?.port() ?? 0,
    async start() {
      if (!options.botToken || !options.chatId) {
        await warnUnconfigured();
        idleTimer = setInterval(() => void warnUnconfigured(), options.idleWarnMs);
        return;
      }
      if (!options.adminIds.size) log.warn('TELEGRAM_ADMIN_IDS is empty: every button press will be refused');
      const bot = new Telegraf(options.botToken, {
        telegram: { apiRoot: options.apiRoot, webhookReply: false },
        handlerTimeout: 60_000,
      });
      const messages = createMessageMap(rt.redis, rt.config.RAYVAULT_QUEUE_PREFIX);

      worker = startAlertsWorker(rt, options, options.chatId, bot.telegram, messages, log);

      if (options.receiveUpdates) {
        receiver = createUpdateReceiver(answerPresses(rt, options, options.chatId, bot, messages, log), options, log);
        await receiver.start();
      }
      await worker.waitUntilReady();
      log.info(
        {
          apiRoot: options.apiRoot,
          mode: !options.receiveUpdates ? 'send-only' : options.webhook ? 'webhook' : 'polling',
          admins: options.adminIds.size,
        },
        'notifier started',
      );
    },
    close() {
      closing ??= (async () => {
        if (idleTimer) clearInterval(idleTimer);
        await receiver?.close().catch((err: unknown) => log.warn({ err }, 'update receiver close failed'));
        await worker?.close().catch((err: unknown) => log.warn({ err }, 'alerts worker close failed'));
      })();
      return closing;
    },
  };
}

/** The `alerts` queue's worker: one alert at a time, each sent to `chatId`. */
function startAlertsWorker(
  rt: Runtime,
  options: NotifierOptions,
  chatId: string,
  telegram: Telegram,
  messages: MessageMap,
  log: Logger,
): Worker {
  const prefix = rt.config.RAYVAULT_QUEUE_PREFIX;
  const worker = new Worker(
    ALERTS_QUEUE,
    createAlertProcessor({
      telegram,
      chatId,
      messages,
      redis: rt.redis,
      prefix,
      log,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      apiTimeoutMs: options.apiTimeoutMs,
    }),
    { connection: rt.redis, prefix: queuePrefix(prefix, ALERTS_QUEUE), concurrency: 1 },
  );
  worker.on('error', (err) => log.warn({ err }, 'alerts worker error'));
  worker.on(
    'failed',
    (job, err) => job && err.name !== 'DelayedError' && log.error({ err, jobId: job.id }, 'alert job failed'),
  );
  return worker;
}

/** Button presses become operator actions; returns the bot, ready to receive them. */
function answerPresses(
  rt: Runtime,
  options: NotifierOptions,
  chatId: string,
  bot: Telegraf,
  messages: MessageMap,
  log: Logger,
): Telegraf {
  bot.on('callback_query', createPressHandler({ rt, chatId, adminIds: options.adminIds, messages, log }));
  // Without this telegraf rethrows from the polling loop and polling stops.
  bot.catch((err, ctx) => log.error({ err, updateId: ctx.update.update_id }, 'update handler failed'));
  return bot;
}
