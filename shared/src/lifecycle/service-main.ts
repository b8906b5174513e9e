import type { Config } from '../config/load-config';
import { startTelemetryFromEnv } from '../config/load-config';
import { migrate } from '../db/migrate';
import { createLogger } from '../logging/logger';
import { createRuntime, type Runtime } from '../runtime';

/**
 * A service process's main: tracing first (its instrumentations patch the
 * modules the rest loads), then `main`; a start that fails says why on stderr
 * and exits 1, so the supervisor or the container restarts it.
 */
export function runService(name: string, main: () => Promise<void>): void {
  startTelemetryFromEnv(name)
    .then(main)
    .catch((err) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}

/**
 * The start every service shares, in order: its logger, its runtime, signal
 * handling (graceful first, forced after the grace period), then the
 * migrations unless `migrate: false` (the notifier needs no schema).
 */
export async function bootService(
  name: string,
  config: Config,
  o: { workerId?: string; migrate?: boolean } = {},
): Promise<Runtime> {
  const log = createLogger(name, config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log, o.workerId ? { workerId: o.workerId } : {});
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  if (o.migrate !== false) await migrate(rt.pool, (migration) => log.info({ migration }, 'migration applied'));
  return rt;
}
