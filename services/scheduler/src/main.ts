import { bootService, runService } from '@rayvault/shared';
import { loadSchedulerConfig } from './config.schema';
import { createCronJobs } from './cron-jobs';
import { createScheduler } from './scheduler';

runService('scheduler', async () => {
  const config = loadSchedulerConfig();
  const rt = await bootService('scheduler', config, { workerId: 'scheduler' });
  const scheduler = createScheduler(rt);
  rt.releasers.push('scheduler', () => scheduler.close());
  scheduler.start();
  const cron = createCronJobs(rt, config);
  rt.releasers.push('cron', () => cron.close());
  await cron.start();
  const schedules = cron.entries.map((e) => e.name);
  rt.log.info({ intervalMs: config.RAYVAULT_RECONCILE_MS, schedules }, 'scheduler started');
});
