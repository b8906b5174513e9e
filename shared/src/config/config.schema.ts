import { z } from 'zod';
import { parseFetchAllow } from '../net/address-policy';

const int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);

/** Every variable any service reads. Services may `.extend()` it. Defaults suit one machine. */
export const baseConfigSchema = z.object({
  /** Redis for queues, leases and heartbeats. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Postgres connection string (local, compose, or Supabase's). */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres:postgres@127.0.0.1:5432/rayvault'),
  SUPABASE_URL: z.string().url().optional(),
  SUPABASE_SERVICE_KEY: z.string().min(1).optional(),
  /** Checkpoints, spool, renders and reports live here. */
  RAYVAULT_STATE_DIR: z.string().min(1).default('./state'),
  RAYVAULT_WORKER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only').optional(),
  /** Queue key prefix; the braces are a Redis Cluster hash tag. */
  RAYVAULT_QUEUE_PREFIX: z.string().min(1).default('{rayvault}'),
  RAYVAULT_API_PORT: int(8080).pipe(z.number().max(65535)),
  RAYVAULT_ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  /** Run-lock lease; a dead worker's run is taken over after about this long. */
  RAYVAULT_LEASE_MS: int(15000, 500),
  /** Heartbeat period; defaults to a third of the lease. */
  RAYVAULT_HEARTBEAT_MS: z.coerce.number().int().min(100).optional(),
  RAYVAULT_SHUTDOWN_GRACE_MS: int(20000, 0),
  RAYVAULT_RECONCILE_MS: int(10000, 200),
  RAYVAULT_JOB_ATTEMPTS: int(5),
  RAYVAULT_BACKOFF_MS: int(2000, 10),
  /** Times a job may be recovered from a dead worker before it is a dead letter (a poison job). */
  RAYVAULT_MAX_STALLS: int(3),
  RAYVAULT_CONCURRENCY: int(2),
  /** Postgres connections per process. */
  RAYVAULT_PG_POOL: int(10),
  /** When set, touched after every good heartbeat / scheduler pass (container health checks). */
  RAYVAULT_HEALTH_FILE: z.string().optional(),
  RAYVAULT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEALTH_ALLOWLIST: z.string().optional(),
  OPS_ADMIN_EMAILS: z.string().optional(),
  TELEGRAM_BOT_TOKEN: z.string().optional(),
  TELEGRAM_CHAT_ID: z.string().optional(),
  TELEGRAM_ADMIN_IDS: z.string().regex(/^\s*(\d+\s*(,\s*\d+\s*)*)?$/, 'comma-separated numeric Telegram user ids').optional(),
  TELEGRAM_API_ROOT: z.string().url().default('https://api.telegram.org'),
  /** US dollars per render-studio (Dzine) credit; `rayvault report` prices the credits ledger with it. */
  DZINE_CREDIT_PRICE_USD: z.coerce.number().min(0).default(1.5),
  /** Brazilian reais per US dollar (a fixed rate) for the BRL column of `rayvault report`. */
  USD_BRL: z.coerce.number().positive().default(5),
  /** Private destinations (hosts, host:port pairs, IPs or CIDRs, comma-separated) fetched URLs may reach; none by default. */
  RAYVAULT_FETCH_ALLOW: z.string().optional().superRefine((v, ctx) => {
    try {
      parseFetchAllow(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^RAYVAULT_FETCH_ALLOW: /, '') });
    }
  }),
  /** Cap on a fetched body after gzip/br/deflate decoding (bytes). */
  RAYVAULT_FETCH_MAX_BYTES: int(5 * 1024 * 1024, 1024),
  /**
   * The only directory a product's local image may come from (CLI products only; resolved with
   * realpath at submission and again at render). Unset: `<RAYVAULT_STATE_DIR>/media`.
   */
  RAYVAULT_MEDIA_DIR: z.string().min(1).optional(),
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
  RAYVAULT_SAMPLES: z.enum(['0', '1']).default('1'),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;
