import { baseConfigSchema, loadConfig, type Config } from '@rayvault/shared';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** Variables only the notifier reads. */
export const notifierFields = z.object({
  TELEGRAM_BOT_TOKEN: z.string().optional(),
  TELEGRAM_CHAT_ID: z.string().optional(),
  TELEGRAM_ADMIN_IDS: z
    .string()
    .regex(/^\s*(\d+\s*(,\s*\d+\s*)*)?$/, 'comma-separated numeric Telegram user ids')
    .optional(),
  TELEGRAM_API_ROOT: z.string().url().default('https://api.telegram.org'),
  /** Public HTTPS URL Telegram posts updates to. Unset: long polling (the default). */
  TELEGRAM_WEBHOOK_URL: z.string().url().optional(),
  /** Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; required with a webhook. */
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,256}$/, '16-256 characters of A-Z a-z 0-9 _ -')
    .optional(),
  /** Port the webhook receiver listens on (behind the HTTPS proxy of TELEGRAM_WEBHOOK_URL). */
  TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
  TELEGRAM_WEBHOOK_HOST: z.string().default('0.0.0.0'),
  /** First retry delay after a Bot API outage; doubles per try up to NOTIFIER_RETRY_MAX_MS. */
  NOTIFIER_RETRY_BASE_MS: ms(1000, 10),
  NOTIFIER_RETRY_MAX_MS: ms(300_000, 10),
  /** How often "Telegram is not configured, alerts stay queued" is logged. */
  NOTIFIER_IDLE_WARN_MS: ms(300_000, 100),
  /** A Bot API call that has not answered by then counts as an outage. */
  NOTIFIER_API_TIMEOUT_MS: ms(30_000, 100),
});

export const notifierConfigSchema = baseConfigSchema.extend(notifierFields.shape).superRefine((c, ctx) => {
  if (c.TELEGRAM_WEBHOOK_URL && !c.TELEGRAM_WEBHOOK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['TELEGRAM_WEBHOOK_SECRET'],
      message: 'required when TELEGRAM_WEBHOOK_URL is set',
    });
  }
});
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;

/**
 * The notifier process's configuration, parsed once at start (`env` for tests; .env is read only for the real
 * environment).
 */
export function loadNotifierConfig(env: NodeJS.ProcessEnv = process.env): Config & NotifierConfig {
  return loadConfig(env, { schema: notifierConfigSchema });
}

/** The notifier's options, every default filled. */
export type NotifierOptions = {
  /** Without a token or a chat, alerts stay queued and a warning is logged every `idleWarnMs`. */
  botToken?: string;
  chatId?: string;
  /** Telegram user ids whose button presses are honoured (TELEGRAM_ADMIN_IDS). */
  adminIds: ReadonlySet<string>;
  /** Bot API base URL (default https://api.telegram.org). */
  apiRoot: string;
  /** Receive presses through a webhook instead of long polling. */
  webhook?: { url: string; secret: string; port: number; host: string };
  /** Listen for button presses at all (default true). */
  receiveUpdates: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
  idleWarnMs: number;
  apiTimeoutMs: number;
};

export function parseAdminIds(csv: string | undefined): Set<string> {
  return new Set(
    (csv ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** Options from the parsed config, then `overrides`. */
export function resolveNotifierOptions(n: NotifierConfig, overrides: Partial<NotifierOptions> = {}): NotifierOptions {
  const webhook =
    n.TELEGRAM_WEBHOOK_URL && n.TELEGRAM_WEBHOOK_SECRET
      ? {
          url: n.TELEGRAM_WEBHOOK_URL,
          secret: n.TELEGRAM_WEBHOOK_SECRET,
          port: n.TELEGRAM_WEBHOOK_PORT,
          host: n.TELEGRAM_WEBHOOK_HOST,
        }
      : undefined;
  return {
    botToken: n.TELEGRAM_BOT_TOKEN,
    chatId: n.TELEGRAM_CHAT_ID,
    adminIds: parseAdminIds(n.TELEGRAM_ADMIN_IDS),
    apiRoot: n.TELEGRAM_API_ROOT,
    webhook,
    receiveUpdates: true,
    retryBaseMs: n.NOTIFIER_RETRY_BASE_MS,
    retryMaxMs: n.NOTIFIER_RETRY_MAX_MS,
    idleWarnMs: n.NOTIFIER_IDLE_WARN_MS,
    apiTimeoutMs: n.NOTIFIER_API_TIMEOUT_MS,
    ...overrides,
  };
}
