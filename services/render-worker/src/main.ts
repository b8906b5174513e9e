import { createLogger, createRuntime, createWorkerHost, startTelemetryFromEnv, migrate } from '@rayvault/shared';
import { loadMediaConfig, resolveMediaOptions } from './config.schema';
import { createMediaProcessors } from './media-processors';

/** The render worker: consumes voice, render and qc. */
async function main() {
  await startTelemetryFromEnv('render-worker');
  const config = loadMediaConfig();
  const log = createLogger('render-worker', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log);
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const host = createWorkerHost(rt, { processors: createMediaProcessors(rt, config) });
  rt.releasers.push('worker', () => host.close());
  await host.start();
  const options = resolveMediaOptions(config);
  log.info(
    { provider: options.provider, toleranceS: options.toleranceS, maxTries: options.maxTries },
    'render worker ready',
  );
}

main().catch((err) => {
  process.stderr.write(`render-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
