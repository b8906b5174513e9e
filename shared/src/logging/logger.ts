import pino, { type Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  '*.password', '*.token', '*.secret', '*.authorization', '*.cookie',
  'DATABASE_URL', 'REDIS_URL', 'SUPABASE_SERVICE_KEY', 'RAYVAULT_ADMIN_TOKEN', 'TELEGRAM_BOT_TOKEN',
  '*.DATABASE_URL', '*.REDIS_URL', '*.SUPABASE_SERVICE_KEY', '*.RAYVAULT_ADMIN_TOKEN', '*.TELEGRAM_BOT_TOKEN',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
];

/** Credentials inside connection strings (postgres://user:pass@host) are masked in messages too. */
export function maskSecrets(text: string): string {
  return text.replace(/(\w+:\/\/[^:/\s]*:)[^@\s]+@/g, '$1***@').replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot***');
}

export type { Logger };

/** One JSON-lines logger per process; children per job add queue, job, run and attempt. */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream, fd = 1): Logger {
  return pino(
    {
      name: service,
      level,
      base: { service, pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: Error) => ({ type: e.name, message: maskSecrets(e.message), code: (e as { code?: unknown }).code }) },
    },
    destination ?? pino.destination({ fd, sync: true }),
  );
}
