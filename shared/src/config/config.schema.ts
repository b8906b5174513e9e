import { z } from 'zod';
import { parseFetchAllow } from '../net/address-policy';
import { parseClusterNodes } from './redis-target';

const int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);

/**
 * What every process reads: connections, the run lifecycle, fetching, logging. Each service's
 * config module `.extend()`s it with its own variables. Defaults suit one machine.
 */
export const baseConfigSchema = z.object({
  /** Redis for queues, leases and heartbeats. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Seeds of a Redis Cluster (`host:port,host:port`); when set, every process uses a cluster connection. */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        if (v !== undefined) parseClusterNodes(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** Password of the cluster's nodes (or of REDIS_URL's server when its URL carries none). */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** Postgres connection string (local, compose, or Supabase's). */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres:postgres@127.0.0.1:5432/rayvault'),
  SUPABASE_URL: z.string().url().optional(),
  SUPABASE_SERVICE_KEY: z.string().min(1).optional(),
  /** Checkpoints, spool, renders and reports live here. */
  RAYVAULT_STATE_DIR: z.string().min(1).default('./state'),
  RAYVAULT_WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only')
    .optional(),
  /**
   * Key prefix, a Redis Cluster hash tag (`{rayvault}`; `rayvault` is read as `{rayvault}`). Each queue and the run
   * locks get a tag of their own from it (`{rayvault:evidence}`).
   */
  RAYVAULT_QUEUE_PREFIX: z
    .string()
    .regex(/^\{?[A-Za-z0-9._-]{1,48}\}?$/, 'a name of letters, digits, . _ - (braces optional), e.g. {rayvault}')
    .default('{rayvault}')
    .transform((v) => `{${v.replace(/[{}]/g, '')}}`),
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
  /**
   * Private destinations (hosts, host:port pairs, IPs or CIDRs, comma-separated) fetched URLs may reach; none by
   * default.
   */
  RAYVAULT_FETCH_ALLOW: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
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
  RAYVAULT_SAMPLES: z.enum(['0', '1']).default('1'),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/**
 * The cost report's prices. Only what prices the credits ledger reads them: the ops API's
 * run detail and `rayvault report` extend their schemas with these fields.
 */
export const pricingFields = z.object({
  /** US dollars per render-studio (Dzine) credit. */
  DZINE_CREDIT_PRICE_USD: z.coerce.number().min(0).default(1.5),
  /** Brazilian reais per US dollar (a fixed rate) for the BRL column. */
  USD_BRL: z.coerce.number().positive().default(5),
});
export type PricingConfig = z.infer<typeof pricingFields>;

/**
 * Set by `npm start`'s supervisor for the services it starts, never by an operator (so not in
 * .env.example): a service whose supervisor is gone stops gracefully.
 */
export const supervisorFields = z.object({
  RAYVAULT_SUPERVISOR_PID: z.coerce.number().int().positive().optional(),
});
