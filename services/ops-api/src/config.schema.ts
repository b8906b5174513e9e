import { baseConfigSchema, loadConfig, pricingFields, type Config } from '@rayvault/shared';
import { z } from 'zod';
import { parseTrustProxy, trustProxyProblem, type TrustProxy } from './http/trust-proxy';

const perMinute = (def: number) => z.coerce.number().int().min(1).default(def);

/** Variables only the ops API reads (and the report's prices, pricingFields, for the run detail). */
export const opsApiFields = z.object({
  RAYVAULT_API_PORT: z.coerce.number().int().min(1).default(8080).pipe(z.number().max(65535)),
  RAYVAULT_ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  HEALTH_ALLOWLIST: z.string().optional(),
  OPS_ADMIN_EMAILS: z.string().optional(),
  /** Interface the API listens on: loopback unless set (compose sets 0.0.0.0 inside the container). */
  OPS_BIND_HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest JSON body accepted (bytes or "64kb"); bigger bodies get 413. */
  OPS_JSON_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)?$/i, 'a size such as 65536 or 64kb')
    .default('64kb'),
  /** Requests per minute per client IP on every route (health, Bull Board and the dashboard included); more get 429. */
  OPS_RATE_LIMIT_PER_MIN: perMinute(600),
  /**
   * Failed token attempts per minute per client IP (a wrong bearer token on any route, a wrong /login); past it that
   * client gets 429 on every route.
   */
  OPS_LOGIN_RATE_LIMIT_PER_MIN: perMinute(20),
  /** Browser session lifetime. */
  OPS_SESSION_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(12 * 3600_000),
  /**
   * Who may set X-Forwarded-For: a hop count or the proxies' addresses/CIDRs (or loopback, linklocal, uniquelocal);
   * "true" and catch-all ranges are refused.
   */
  OPS_TRUST_PROXY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = trustProxyProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** "1" lets admins add, edit, clean and pause jobs in Bull Board (each change audited first); read-only otherwise. */
  OPS_BULL_BOARD_WRITE: z
    .enum(['0', '1'], { error: 'use 1 to let admins change jobs in Bull Board, 0 (default) for read-only' })
    .default('0'),
});

export const opsApiConfigSchema = baseConfigSchema.extend({ ...opsApiFields.shape, ...pricingFields.shape });
export type OpsApiConfig = z.infer<typeof opsApiConfigSchema>;

/**
 * The ops API process's configuration, parsed once at start (`env` for tests; .env is read only for the real
 * environment).
 */
export function loadOpsApiConfig(env: NodeJS.ProcessEnv = process.env): Config & OpsApiConfig {
  return loadConfig(env, { schema: opsApiConfigSchema });
}

/** The ops API's options, every default filled. */
export type OpsApiOptions = {
  port: number;
  host: string;
  jsonLimit: string;
  rateLimitPerMin: number;
  loginRateLimitPerMin: number;
  sessionTtlMs: number;
  trustProxy: TrustProxy;
  /** OPS_BULL_BOARD_WRITE=1: Bull Board may change queues and jobs (audited); default read-only. */
  bullBoardWrite: boolean;
  /** Bootstrap admin token (RAYVAULT_ADMIN_TOKEN); unset: only database tokens work. */
  adminToken?: string;
  /** HEALTH_ALLOWLIST: IPs or CIDRs, CSV or a JSON array. */
  healthAllowlist?: string;
  creditPriceUsd: number;
  usdBrl: number;
};

/** Options from the parsed config, then `overrides`. */
export function resolveOpsApiOptions(o: OpsApiConfig, overrides: Partial<OpsApiOptions> = {}): OpsApiOptions {
  return {
    port: o.RAYVAULT_API_PORT,
    host: o.OPS_BIND_HOST,
    jsonLimit: o.OPS_JSON_LIMIT,
    rateLimitPerMin: o.OPS_RATE_LIMIT_PER_MIN,
    loginRateLimitPerMin: o.OPS_LOGIN_RATE_LIMIT_PER_MIN,
    sessionTtlMs: o.OPS_SESSION_TTL_MS,
    trustProxy: parseTrustProxy(o.OPS_TRUST_PROXY),
    bullBoardWrite: o.OPS_BULL_BOARD_WRITE === '1',
    adminToken: o.RAYVAULT_ADMIN_TOKEN,
    healthAllowlist: o.HEALTH_ALLOWLIST,
    creditPriceUsd: o.DZINE_CREDIT_PRICE_USD,
    usdBrl: o.USD_BRL,
    ...overrides,
  };
}
