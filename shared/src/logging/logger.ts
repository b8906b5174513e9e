import pino, { type Logger } from 'pino';
import { activeTraceIds } from '../telemetry/trace-context';
import { redactDeep, serializeError } from './redact-deep';
import { maskKnownSecrets, maskSecrets } from './secret-masks';

export { maskSecrets, rememberSecrets, configSecrets, isSecretKey } from './secret-masks';
export type { Logger };

/**
 * One JSON-lines logger per process; children per job add queue, job, run and
 * attempt. Secrets are kept out in three places: every logged object and
 * child binding is walked (fields named like credentials redacted and
 * credentials inside strings masked, at any depth), string arguments are
 * masked, and the finished line loses every secret value this process was
 * configured with (`rememberSecrets`, fed by `loadConfig`). A line written
 * inside a span carries its `trace_id` and `span_id` (nothing when tracing is off).
 */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream, fd = 1): Logger {
  const logger = pino(
    {
      name: service,
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: activeTraceIds,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactDeep(bindings) as Record<string, unknown>,
        log: (obj) => redactDeep(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
        streamWrite: maskKnownSecrets,
      },
      serializers: { err: (e: unknown) => (e instanceof Error ? serializeError(e) : redactDeep(e)) },
    },
    destination ?? pino.destination({ fd, sync: true }),
  );
  // pino applies `formatters.bindings` to the root only; children (and theirs, which inherit this) walk their bindings
  // here.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, options) {
    return child.call(this, redactDeep(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}
