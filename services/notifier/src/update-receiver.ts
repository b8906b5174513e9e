import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@rayvault/shared';
import type { Telegraf } from 'telegraf';
import { backoffMs } from './delivery-errors';

export type ReceiverOptions = {
  webhook?: { url: string; secret: string; port: number; host: string };
  retryBaseMs: number;
  retryMaxMs: number;
};

const ALLOWED_UPDATES = ['callback_query'] as const;

/**
 * Gets button presses to the bot: long polling by default (telegraf's loop,
 * restarted with backoff when the Bot API is unreachable at launch or polling
 * stops on 401/409), or a webhook: a plain node http server whose handler
 * (telegraf's) refuses requests without the secret token with 403.
 */
export function createUpdateReceiver(bot: Telegraf, opts: ReceiverOptions, log: Logger) {
  let closed = false;
  let loop: Promise<void> | undefined;
  let server: http.Server | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** Retries `fn` with backoff until it succeeds or the receiver closes. */
  async function persist(what: string, fn: () => Promise<unknown>): Promise<void> {
    for (let tries = 1; !closed; tries++) {
      try {
        await fn();
        if (closed) return;
        tries = 0;
        log.warn(`${what} ended unexpectedly: restarting`);
      } catch (err) {
        if (closed) return;
        const delayMs = backoffMs(tries, opts.retryBaseMs, opts.retryMaxMs);
        log.warn({ err, delayMs }, `${what} failed: retrying`);
        await pause(delayMs);
      }
    }
  }

  async function startWebhook(hook: NonNullable<ReceiverOptions['webhook']>): Promise<void> {
    const handler = bot.webhookCallback(new URL(hook.url).pathname, { secretToken: hook.secret });
    const httpServer = http.createServer((req, res) => void handler(req, res));
    server = await listen(httpServer, hook.port, hook.host);
    log.info({ port: (server.address() as AddressInfo).port, url: hook.url }, 'Telegram webhook receiver listening');
    // Registered in the background: an unreachable Bot API at start must not stop the alerts.
    loop = persist('setWebhook', async () => {
      await bot.telegram.setWebhook(hook.url, { secret_token: hook.secret, allowed_updates: [...ALLOWED_UPDATES] });
      log.info('Telegram webhook registered');
      if (!closed) await new Promise<void>((resolve) => (wake = resolve));
    });
  }

  return {
    async start(): Promise<void> {
      if (opts.webhook) return startWebhook(opts.webhook);
      loop = persist('Telegram long polling', () => bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }));
      log.info('Telegram long polling started');
    },
    /** Port of the webhook server (0 when polling). */
    port: () => (server?.address() as AddressInfo | null)?.port ?? 0,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      wake?.();
      try {
        bot.stop('notifier closing');
      } catch {
        // never launched (the Bot API was unreachable): nothing to stop
      }
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      // Polling finishes the batch in hand; bounded so an unreachable Bot API cannot hold shutdown.
      await Promise.race([loop, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}

/** Starts `server` on port/host; rejects when it cannot listen (port taken). */
async function listen(server: http.Server, port: number, host: string): Promise<http.Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
