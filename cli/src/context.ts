import { createLogger, createPool, createRuntime, isRayVaultError, loadConfig, startTelemetry, type BaseConfig, type Runtime } from '@rayvault/shared';
import type { z } from 'zod';
import { EXIT } from './exit-codes';

export { EXIT };

export class UsageError extends Error {}

/** Runs `fn` with a runtime built from the same environment as the services, then closes it. */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>, options: { workerId?: string; schema?: z.ZodType<BaseConfig> } = {}): Promise<T> {
  await startTelemetry('cli', process.env);
  const config = loadConfig(process.env, { schema: options.schema });
  const log = createLogger('rayvault-cli', process.env.RAYVAULT_LOG_LEVEL ?? 'warn', undefined, 2);
  const rt = createRuntime(config, log, { workerId: options.workerId ?? config.RAYVAULT_WORKER_ID ?? 'cli' });
  try {
    return await fn(rt);
  } finally {
    await rt.releasers.close();
  }
}

/** Runs `fn` with one Postgres connection and nothing else (no Redis): for verbs that only need the database. */
export async function withDatabase<T>(fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const pool = createPool(config.DATABASE_URL, createLogger('rayvault-cli', process.env.RAYVAULT_LOG_LEVEL ?? 'warn', undefined, 2), 1);
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
