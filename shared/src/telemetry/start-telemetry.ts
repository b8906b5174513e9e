import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/errors';
import { setRecording } from './trace-context';

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * The standard OpenTelemetry variables RayVault documents (.env.example),
 * checked here so a typo stops the process with a reason instead of silently
 * tracing nothing; the SDK itself reads them (and the rest of the
 * specification's, such as OTEL_BSP_*) as the specification says.
 */
export const telemetryEnvSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(PROTOCOLS).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(PROTOCOLS).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'a ratio between 0 and 1')
    .optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
});

/**
 * Modules whose instrumentation patches shared prototypes, so re-requiring them after start patches copies loaded
 * before.
 */
const PRELOADED = ['pg', 'pg-pool', 'ioredis', 'http', 'https', 'express'];

let sdk: { shutdown(): Promise<void> } | undefined;

/**
 * Starts tracing when an OTLP endpoint is set; otherwise loads nothing (the
 * SDK is imported dynamically) and tracing stays the API's no-op. Called first
 * thing in each process's main. Returns whether tracing is on.
 */
export async function startTelemetry(service: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const parsed = telemetryEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `OpenTelemetry configuration refused: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}. Fix or unset the variable to start.`,
    );
  }
  const cfg = parsed.data;
  // scripts/stack/supervisor.mjs (serviceNodeFlags) tells tracing on the same way, to size the young generation.
  if (
    sdk ||
    cfg.OTEL_SDK_DISABLED === 'true' ||
    !(cfg.OTEL_EXPORTER_OTLP_ENDPOINT ?? cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  )
    return !!sdk;
  const [
    { NodeSDK, resources },
    { PgInstrumentation },
    { IORedisInstrumentation },
    { HttpInstrumentation },
    { ExpressInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
  ]);
  const node = new NodeSDK({
    // OTEL_SERVICE_NAME, when set, names every process alike; rayvault.service still tells them apart.
    serviceName: cfg.OTEL_SERVICE_NAME ?? `rayvault-${service}`,
    resource: resources.resourceFromAttributes({ 'rayvault.service': service }),
    // Metrics and logs have their own paths (/metrics, pino's stdout): traces only.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // Store calls and Redis commands of a run, not the queue's idle polling: only under a span.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: redisStatement }),
      new HttpInstrumentation(),
      new ExpressInstrumentation(),
    ],
  });
  node.start();
  sdk = node;
  setRecording(true);
  for (const name of PRELOADED) requireAgain(name);
  return true;
}

/**
 * A Redis span's `db.query.text`: the command and the key it acts on (a script's first key), not its arguments.
 * The instrumentation's default writes out every argument of EVAL/EVALSHA, i.e. each BullMQ script's whole job
 * data and options, on every command: a few hundred bytes to build and export per span, and the job's data in
 * the trace.
 */
export function redisStatement(cmd: string, args: unknown[]): string {
  const script = cmd === 'evalsha' || cmd === 'eval';
  const key = script ? (Number(args[1]) > 0 ? args[2] : undefined) : args[0];
  return typeof key === 'string' ? `${cmd} ${key}` : cmd;
}

/**
 * The bundles (dist/) require pg, ioredis and express before main runs. Requiring each
 * loaded copy again goes through the instrumentation's hook, which patches the
 * prototypes that copy's existing clients share. A copy is found by the file it was
 * loaded from, wherever the bundle sits; a module never loaded needs nothing.
 */
function requireAgain(name: string): void {
  if (builtinModules.includes(name)) {
    createRequire(__filename)(name);
    return;
  }
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  const dirs = new Set(
    Object.keys(require.cache)
      .filter((f) => f.includes(marker))
      .map((f) => f.slice(0, f.lastIndexOf(marker) + marker.length - name.length - 1)),
  );
  for (const dir of dirs) createRequire(path.join(dir, 'index.js'))(name);
}

/** Flushes spans still batched and stops the SDK; a no-op when tracing is off. */
export async function shutdownTelemetry(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  setRecording(false);
  await s?.shutdown();
}
