import { createLogger, createRuntime, loadConfig, migrate } from '@rayvault/shared';
import { createScheduler } from './scheduler';

async function main() {
  const config = loadConfig();
  const log = createLogger('scheduler', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log, { workerId: 'scheduler' });
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const scheduler = createScheduler(rt);
  rt.releasers.push('scheduler', () => scheduler.close());
  scheduler.start();
  log.info({ intervalMs: config.RAYVAULT_RECONCILE_MS }, 'scheduler started');
}

main().catch((err) => {
  process.stderr.write(`scheduler: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
