// One stage consumer for the benchmark, in its own process: either raw BullMQ
// (the job adds the next stage's job) or RayVault's full machinery with a
// no-op processor. Prints "ready" when consuming.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, createRuntime, createWorkerHost, nextStage, STAGES, type Stage } from '@rayvault/shared';
import { loadBenchConfig, stageWorkerSettings, startBenchTelemetry } from './bench-config';

const settings = stageWorkerSettings();
const stage = settings.stage as Stage;
const concurrency = settings.concurrency;

async function raw() {
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const prefix = settings.prefix;
  const next = nextStage(stage);
  const nextQueue = next ? new Queue(`raw-${next}`, { connection, prefix }) : null;
  const worker = new Worker(
    `raw-${stage}`,
    async (job) => {
      if (nextQueue)
        await nextQueue.add(next!, job.data, { jobId: `${job.data.runId}-${next}`, removeOnComplete: true });
      else await connection.hset(`${prefix}:raw-done`, job.data.runId, Date.now());
    },
    { connection, prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  worker.on('error', () => undefined);
  process.on('SIGTERM', async () => {
    await worker.close();
    await nextQueue?.close();
    connection.disconnect();
    process.exit(0);
  });
}

async function rayvault() {
  await startBenchTelemetry(`bench-${stage}`);
  const config = loadBenchConfig();
  const rt = createRuntime(config, createLogger(`bench-${stage}`, 'error'), {
    workerId: `bench-${stage}-${process.pid}`,
  });
  const host = createWorkerHost(rt, { processors: { [stage]: async () => ({ output: null }) }, concurrency });
  await host.start();
  process.on('SIGTERM', async () => {
    await host.close(1000);
    await rt.releasers.close();
    process.exit(0);
  });
}

if (!STAGES.includes(stage)) throw new Error(`BENCH_STAGE must be one of ${STAGES.join(', ')}`);
(settings.raw ? raw() : rayvault()).then(() => process.stdout.write('ready\n'));
