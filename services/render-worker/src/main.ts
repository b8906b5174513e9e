import { bootService, createWorkerHost, runService } from '@rayvault/shared';
import { loadMediaConfig, resolveMediaOptions } from './config.schema';
import { createMediaProcessors } from './media-processors';

/** The render worker: consumes voice, render and qc. */
runService('render-worker', async () => {
  const config = loadMediaConfig();
  const rt = await bootService('render-worker', config);
  const host = createWorkerHost(rt, { processors: createMediaProcessors(rt, config) });
  rt.releasers.push('worker', () => host.close());
  await host.start();
  const { provider, toleranceS, maxTries } = resolveMediaOptions(config);
  rt.log.info({ provider, toleranceS, maxTries }, 'render worker ready');
});
