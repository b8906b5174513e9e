import { createLogger, createRuntime, startTelemetryFromEnv, touchHealthFile } from '@rayvault/shared';
import { loadNotifierConfig } from './config.schema';
import { createNotifier } from './notifier';

async function main() {
  await startTelemetryFromEnv('notifier');
  const config = loadNotifierConfig();
  const log = createLogger('notifier', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log, { workerId: 'notifier' });
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  const notifier = createNotifier(rt, config);
  rt.releasers.push('notifier', () => notifier.close());
  await notifier.start();
  // Alive for the container health check while Redis (its alert queue) answers.
  const alive = setInterval(
    () =>
      void rt.fastRedis.ping().then(
        () => touchHealthFile(config.RAYVAULT_HEALTH_FILE),
        () => undefined,
      ),
    10_000,
  );
  rt.releasers.push('health-file', () => clearInterval(alive));
  touchHealthFile(config.RAYVAULT_HEALTH_FILE);
}

main().catch((err) => {
  process.stderr.write(`notifier: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
