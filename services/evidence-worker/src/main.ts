import { createLogger, createRuntime, createWorkerHost, loadConfig, startTelemetry, migrate } from '@rayvault/shared';
import { evidenceConfigSchema } from './config.schema';
import { createEvidenceProcessor } from './evidence.processor';

async function main() {
  await startTelemetry('evidence-worker', process.env);
  const config = loadConfig(process.env, { schema: evidenceConfigSchema });
  const log = createLogger('evidence-worker', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log);
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt) } });
  // Pushed last, released first: stop taking jobs and let the active ones finish before connections close.
  rt.releasers.push('worker', () => host.close());
  await host.start();
}

main().catch((err) => {
  process.stderr.write(`evidence-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
