import { bootService, runService, touchHealthFile } from '@rayvault/shared';
import { createApp } from './app';
import { loadOpsApiConfig } from './config.schema';

runService('ops-api', async () => {
  const config = loadOpsApiConfig();
  const rt = await bootService('ops-api', config, { workerId: 'ops-api' });
  const api = createApp(rt, config);
  const { url } = await api.start();
  rt.releasers.push('http', () => api.close());
  touchHealthFile(config.RAYVAULT_HEALTH_FILE);
  if (!config.RAYVAULT_ADMIN_TOKEN)
    rt.log.warn('RAYVAULT_ADMIN_TOKEN is not set: only tokens created in the database can log in');
  rt.log.info({ url, dashboard: `${url}/`, bullBoard: `${url}/admin/queues` }, 'ops-api listening');
});
