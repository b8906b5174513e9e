import { bootService, createWorkerHost, runService } from '@rayvault/shared';
import { loadEvidenceConfig } from './config.schema';
import { createEvidenceProcessor } from './evidence.processor';

runService('evidence-worker', async () => {
  const config = loadEvidenceConfig();
  const rt = await bootService('evidence-worker', config);
  const host = createWorkerHost(rt, { processors: { evidence: createEvidenceProcessor(rt, config) } });
  // Pushed last, released first: stop taking jobs and let the active ones finish before connections close.
  rt.releasers.push('worker', () => host.close());
  await host.start();
});
