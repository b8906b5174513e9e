import { createLogger, createRuntime, startTelemetryFromEnv, migrate, touchHealthFile } from '@rayvault/shared';
import { createApp } from './app';
import { loadOpsApiConfig } from './config.schema';

async function main() {
  await startTelemetryFromEnv('ops-api');
  const config = loadOpsApiConfig();
  const log = createLogger('ops-api', config.RAYVAULT_LOG_LEVEL);
  const rt = createRuntime(config, log, { workerId: 'ops-api' });
  rt.releasers.onSignals(log, config.RAYVAULT_SHUTDOWN_GRACE_MS + 5000, process.exit, config.supervisorPid);
  await migrate(rt.pool, (name) => log.info({ migration: name }, 'migration applied'));
  const api = createApp(rt, config);
  const { url } = await api.start();
  rt.releasers.push('http', () => api.close());
  touchHealthFile(config.RAYVAULT_HEALTH_FILE);
  if (!config.RAYVAULT_ADMIN_TOKEN)
    log.warn('RAYVAULT_ADMIN_TOKEN is not set: only tokens created in the database can log in');
  log.info({ url, dashboard: `${url}/`, bullBoard: `${url}/admin/queues` }, 'ops-api listening');
}

main().catch((err) => {
  process.stderr.write(`ops-api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
