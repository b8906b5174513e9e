// The benchmark's configuration: its BENCH_* knobs and each bench process's RayVault
// config, read from the environment here only, and the environment its children inherit.
import { loadConfig, startTelemetryFromEnv, type BaseConfig, type Config } from '@rayvault/shared';
import type { z } from 'zod';

const env = process.env;

/** A BENCH_* size (BENCH_RUNS, BENCH_KILLS, …), or `dflt` when unset. */
export const benchNumber = (name: string, dflt: number): number => Number(env[name] ?? dflt);

/** The top-level bench's knobs (see bench.ts). */
export const benchSettings = () => ({
  only: new Set((env.BENCH_ONLY ?? 'chain,group,tracing,real,recovery,startup').split(',')),
  durability: env.BENCH_DURABILITY ?? 'both',
  profileDir: env.BENCH_PROFILE,
  peers: env.BENCH_PEERS !== '0',
});

/**
 * The Node.js binary the bench runs built bundles with: BENCH_NODE (another release, to measure what a newer
 * runtime changes), else this one.
 */
export const benchNode = (): string => env.BENCH_NODE ?? process.execPath;

/** One stage consumer's knobs (see stage-worker.ts). */
export const stageWorkerSettings = () => ({
  stage: env.BENCH_STAGE,
  concurrency: Number(env.BENCH_CONCURRENCY ?? 50),
  raw: env.BENCH_MODE === 'raw',
  redisUrl: env.REDIS_URL!,
  prefix: env.RAYVAULT_QUEUE_PREFIX!,
});

/** Runs the real-work child makes (see real-work-child.ts). */
export const realWorkRuns = (): number => Number(env.BENCH_REAL_RUNS ?? 2);

/** A bench child's RayVault config, from the environment its parent gave it (never .env). */
export function loadBenchConfig<C extends BaseConfig = BaseConfig>(schema?: z.ZodType<C>): Config & C {
  return loadConfig(env, { schema, useDotenv: false });
}

/** Starts tracing when the parent's environment names an OTLP endpoint. */
export const startBenchTelemetry = (service: string): Promise<boolean> => startTelemetryFromEnv(service);

/** The environment a child process starts with: this process's, then `extra`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...(env as Record<string, string>), ...extra };
}

/** Where the harness helpers the bench borrows put their scratch files (test/support/harness reads RV_TEST_ROOT). */
export function setScratchRoot(dir: string): void {
  env.RV_TEST_ROOT = dir;
}
