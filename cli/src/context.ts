import {
  createLogger,
  createPool,
  createRuntime,
  isRayVaultError,
  startTelemetryFromEnv,
  type BaseConfig,
  type Config,
  type Runtime,
} from '@rayvault/shared';
import type { z } from 'zod';
import { loadCliConfig } from './config';
import { EXIT } from './exit-codes';

export { EXIT };

export class UsageError extends Error {}

/**
 * Runs `fn` with a runtime built from the same environment as the services, then closes it.
 * `fn` also gets the config parsed with `schema`, for the verbs that need more than the base variables.
 */
export async function withRuntime<T, C extends BaseConfig = BaseConfig>(
  fn: (rt: Runtime, config: Config & C) => Promise<T>,
  options: { workerId?: string; schema?: z.ZodType<C> } = {},
): Promise<T> {
  await startTelemetryFromEnv('cli');
  const { config, logLevel } = loadCliConfig(options.schema);
  const log = createLogger('rayvault-cli', logLevel, undefined, 2);
  const rt = createRuntime(config, log, { workerId: options.workerId ?? config.RAYVAULT_WORKER_ID ?? 'cli' });
  try {
    return await fn(rt, config);
  } finally {
    await rt.releasers.close();
  }
}

/** Runs `fn` with one Postgres connection and nothing else (no Redis): for verbs that only need the database. */
export async function withDatabase<T>(fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const { config, logLevel } = loadCliConfig();
  const pool = createPool(config.DATABASE_URL, createLogger('rayvault-cli', logLevel, undefined, 2), 1);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** One line for humans on stderr; `--json` callers get `{error: {code, message}}` on stdout. */
export function reportError(err: unknown, json: boolean): number {
  const code = isRayVaultError(err) ? err.code : err instanceof UsageError ? 'bad_request' : 'internal';
  const message = err instanceof Error ? err.message : String(err);
  if (json) printJson({ error: { code, message } });
  else process.stderr.write(`rayvault: ${message}\n`);
  return err instanceof UsageError || code === 'invalid_input' ? EXIT.usage : EXIT.failed;
}
