// One stage consumer for the benchmark, in its own process: either raw BullMQ
// (the job adds the next stage's job) or RayVault's full machinery with a
// no-op processor. Prints "ready" when consuming.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, createRuntime, createWorkerHost, loadConfig, nextStage, STAGES, startTelemetry, type Stage } from '@rayvault/shared';

const stage = process.env.BENCH_STAGE as Stage;
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);

async function raw() {
  const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const prefix = process.env.RAYVAULT_QUEUE_PREFIX!;
  const next = nextStage(stage);
  const nextQueue = next ? new Queue(`raw-${next}`, { connection, prefix }) : null;
  const worker = new Worker(`raw-${stage}`, async (job) => {
    if (nextQueue) await nextQueue.add(next!, job.data, { jobId: `${job.data.runId}-${next}`, removeOnComplete: true });
    else await connection.hset(`${prefix}:raw-done`, job.data.runId, Date.now());
  }, { connection, prefix, concurrency, removeOnComplete: { count: 0 } });
  worker.on('error', () => undefined);
  process.on('SIGTERM', async () => { await worker.close(); await nextQueue?.close(); connection.disconnect(); process.exit(0); });
}

async function rayvault() {
  await startTelemetry(`bench-${stage}`, process.env);
  const config = loadConfig(process.env, { useDotenv: false });
  const rt = createRuntime(config, createLogger(`bench-${stage}`, 'error'), { workerId: `bench-${stage}-${process.pid}` });
  const host = createWorkerHost(rt, { processors: { [stage]: async () => ({ output: null }) }, concurrency });
  await host.start();
  process.on('SIGTERM', async () => { await host.close(1000); await rt.releasers.close(); process.exit(0); });
}

if (!STAGES.includes(stage)) throw new Error(`BENCH_STAGE must be one of ${STAGES.join(', ')}`);
(process.env.BENCH_MODE === 'raw' ? raw() : rayvault()).then(() => process.stdout.write('ready\n'));
