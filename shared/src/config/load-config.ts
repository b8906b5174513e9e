import { config as loadDotenv } from 'dotenv';
import type { z } from 'zod';
import { ConfigError } from '../errors/errors';
import { stateLayout } from '../housekeeping/state-layout';
import { configSecrets, rememberSecrets } from '../logging/secret-masks';
import { startTelemetry } from '../telemetry/start-telemetry';
import { baseConfigSchema, supervisorFields, type BaseConfig } from './config.schema';

export type Config = BaseConfig & {
  heartbeatMs: number;
  /** The `npm start` supervisor this process outlives by nothing (RAYVAULT_SUPERVISOR_PID); unset otherwise. */
  supervisorPid?: number;
};

/**
 * Parse the environment once at start. Every bad variable is reported in one
 * error, never one at a time. `.env` in the working directory is read unless
 * `useDotenv` is false; real environment variables win over it.
 */
export function loadConfig<S extends z.ZodType<BaseConfig>>(
  env: NodeJS.ProcessEnv = process.env,
  options: { schema?: S; useDotenv?: boolean } = {},
): Config & z.infer<S> {
  if (options.useDotenv !== false && env === process.env) {
    loadDotenv({ quiet: true });
    // Written by `npm start` for the stack it started; lowest priority, so the CLI finds that stack.
    loadDotenv({ quiet: true, path: stateLayout(env.RAYVAULT_STATE_DIR ?? './state').stackEnv });
  }
  const schema = options.schema ?? baseConfigSchema;
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(blanksRemoved);
  const launch = supervisorFields.safeParse(blanksRemoved);
  const issues = [...(parsed.error?.issues ?? []), ...(launch.error?.issues ?? [])];
  if (!parsed.success || !launch.success) {
    const lines = issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(
      `invalid configuration (${lines.length} problem${lines.length > 1 ? 's' : ''}):\n${lines.join('\n')}`,
    );
  }
  const cfg = parsed.data as z.infer<S>;
  // This process's logs must never show its own credentials, wherever a line would carry them.
  rememberSecrets(configSecrets(cfg as Record<string, unknown>));
  return {
    ...cfg,
    heartbeatMs: cfg.RAYVAULT_HEARTBEAT_MS ?? Math.max(100, Math.floor(cfg.RAYVAULT_LEASE_MS / 3)),
    supervisorPid: launch.data.RAYVAULT_SUPERVISOR_PID,
  };
}

/**
 * Starts tracing from this process's OTEL_* variables, first thing in a main (the
 * OpenTelemetry SDK reads the rest of the standard variables from the environment itself).
 */
export function startTelemetryFromEnv(service: string): Promise<boolean> {
  return startTelemetry(service, process.env);
}
