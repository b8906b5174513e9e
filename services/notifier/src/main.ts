import { bootService, runService, touchHealthFile } from '@rayvault/shared';
import { loadNotifierConfig } from './config.schema';
import { createNotifier } from './notifier';

runService('notifier', async () => {
  const config = loadNotifierConfig();
  const rt = await bootService('notifier', config, { workerId: 'notifier', migrate: false });
  const notifier = createNotifier(rt, config);
  rt.releasers.push('notifier', () => notifier.close());
  await notifier.start();
  // Alive for the container health check while Redis (its alert queue) answers.
  const touch = () => touchHealthFile(config.RAYVAULT_HEALTH_FILE);
  const alive = setInterval(() => void rt.fastRedis.ping().then(touch, () => undefined), 10_000);
  rt.releasers.push('health-file', () => clearInterval(alive));
  touch();
});
