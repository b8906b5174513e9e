import { baseConfigSchema, type BaseConfig } from '@rayvault/shared';
import { z } from 'zod';

const perMinute = (def: number) => z.coerce.number().int().min(1).default(def);

/** Variables only the ops API reads (RAYVAULT_API_PORT, RAYVAULT_ADMIN_TOKEN and HEALTH_ALLOWLIST are in the base schema). */
export const opsApiFields = z.object({
  /** Interface the API listens on. */
  OPS_BIND_HOST: z.string().min(1).default('0.0.0.0'),
  /** Largest JSON body accepted (bytes or "64kb"); bigger bodies get 413. */
  OPS_JSON_LIMIT: z.string().regex(/^\d+(b|kb|mb)?$/i, 'a size such as 65536 or 64kb').default('64kb'),
  /** Requests per minute per client IP on /api, /login and /metrics; more get 429. */
  OPS_RATE_LIMIT_PER_MIN: perMinute(600),
  /** Login attempts per minute per client IP (a token guesser gets 429 quickly). */
  OPS_LOGIN_RATE_LIMIT_PER_MIN: perMinute(20),
  /** Browser session lifetime. */
  OPS_SESSION_TTL_MS: z.coerce.number().int().min(60_000).default(12 * 3600_000),
  /** Express "trust proxy" (hop count, or a list such as "loopback"): set it behind a reverse proxy so client IPs are right. */
  OPS_TRUST_PROXY: z.string().optional(),
});

export const opsApiConfigSchema = baseConfigSchema.extend(opsApiFields.shape);
export type OpsApiConfig = z.infer<typeof opsApiConfigSchema>;

/** The ops API's options, every default filled. */
export type OpsApiOptions = {
  port: number;
  host: string;
  jsonLimit: string;
  rateLimitPerMin: number;
  loginRateLimitPerMin: number;
  sessionTtlMs: number;
  trustProxy: boolean | number | string;
  /** Bootstrap admin token (RAYVAULT_ADMIN_TOKEN); unset: only database tokens work. */
  adminToken?: string;
  /** HEALTH_ALLOWLIST: IPs or CIDRs, CSV or a JSON array. */
  healthAllowlist?: string;
  creditPriceUsd: number;
  usdBrl: number;
};

function parseTrustProxy(v: string | undefined): OpsApiOptions['trustProxy'] {
  if (!v) return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v === 'true' ? true : v;
}

/** Options from the config (any missing ops variable takes its default), then `overrides`. */
export function resolveOpsApiOptions(config: BaseConfig, overrides: Partial<OpsApiOptions> = {}): OpsApiOptions {
  const o = opsApiFields.parse(config);
  return {
    port: config.RAYVAULT_API_PORT,
    host: o.OPS_BIND_HOST,
    jsonLimit: o.OPS_JSON_LIMIT,
    rateLimitPerMin: o.OPS_RATE_LIMIT_PER_MIN,
    loginRateLimitPerMin: o.OPS_LOGIN_RATE_LIMIT_PER_MIN,
    sessionTtlMs: o.OPS_SESSION_TTL_MS,
    trustProxy: parseTrustProxy(o.OPS_TRUST_PROXY),
    adminToken: config.RAYVAULT_ADMIN_TOKEN,
    healthAllowlist: config.HEALTH_ALLOWLIST,
    creditPriceUsd: config.DZINE_CREDIT_PRICE_USD,
    usdBrl: config.USD_BRL,
    ...overrides,
  };
}
