import { createLogger, createRuntime, startTelemetryFromEnv, migrate } from '@rayvault/shared';
import { loadSchedulerConfig } from './config.schema';
import { createCronJobs } from './cron-jobs';
import { createScheduler } from './scheduler';

async function main() {
  await startTelemetryFromEnv('scheduler');
  const config = loadSchedulerConfig();
  const log = createLogger('scheduler', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log, { workerId: 'scheduler' });
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const scheduler = createScheduler(rt);
  rt.releasers.push('scheduler', () => scheduler.close());
  scheduler.start();
  const cron = createCronJobs(rt, config);
  rt.releasers.push('cron', () => cron.close());
  await cron.start();
  log.info(
    { intervalMs: config.RAYVAULT_RECONCILE_MS, schedules: cron.entries.map((e) => e.name) },
    'scheduler started',
  );
}

main().catch((err) => {
  process.stderr.write(`scheduler: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
