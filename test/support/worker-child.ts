// A real worker process for the kill/SIGTERM tests: the shared worker host
// with the test processors, configured from the environment like a service.
import { createLogger, createRuntime, createWorkerHost, loadConfig, startTelemetry } from '@rayvault/shared';
import { allStepsProcessors } from './test-processors';

async function main() {
  await startTelemetry(`worker-${process.env.RAYVAULT_WORKER_ID ?? 'child'}`, process.env);
  const config = loadConfig(process.env, { useDotenv: false });
  const log = createLogger(`worker-${config.RAYVAULT_WORKER_ID}`, config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log);
  const host = createWorkerHost(rt, { processors: allStepsProcessors(rt.stateDir) });
  rt.releasers.push('worker', () => host.close());
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000);
  await host.start();
  log.info('worker ready');
}

main().catch((err) => {
  process.stderr.write(`worker-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
