import { createLogger, createRuntime, createWorkerHost, startTelemetryFromEnv, migrate } from '@rayvault/shared';
import { loadEvidenceConfig } from './config.schema';
import { createEvidenceProcessor } from './evidence.processor';

async function main() {
  await startTelemetryFromEnv('evidence-worker');
  const config = loadEvidenceConfig();
  const log = createLogger('evidence-worker', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log);
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt, config) } });
  // Pushed last, released first: stop taking jobs and let the active ones finish before connections close.
  rt.releasers.push('worker', () => host.close());
  await host.start();
}

main().catch((err) => {
  process.stderr.write(`evidence-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
