// A real render-worker process for the kill tests: the voice, render and qc
// processors, configured from the environment like the service.
import { createLogger, createRuntime, createWorkerHost, loadConfig } from '@rayvault/shared';
import { createMediaProcessors, mediaConfigSchema } from '@rayvault/render-worker';

async function main() {
  const config = loadConfig(process.env, { schema: mediaConfigSchema, useDotenv: false });
  const log = createLogger(`media-worker-${config.RAYVAULT_WORKER_ID}`, config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log);
  const host = createWorkerHost(rt, { processors: createMediaProcessors(rt, config) });
  rt.releasers.push('worker', () => host.close());
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000);
  await host.start();
  log.info('worker ready');
}

main().catch((err) => {
  process.stderr.write(`media-worker-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
