import { baseConfigSchema, loadConfig, type Config } from '@rayvault/shared';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** Variables only the scheduler reads. */
export const schedulerConfigSchema = baseConfigSchema.extend({
  /** JSON file of scheduled intake: [{name, pattern (cron) | every (ms), sample | product (file)}]. */
  RAYVAULT_SCHEDULE_FILE: z.string().min(1).optional(),
  /** A gate open longer than this is STALE_GATE; reminders repeat once per this period. */
  RAYVAULT_STALE_GATE_MS: ms(30 * 60_000, 1000),
  RAYVAULT_STALE_GATE_CHECK_MS: ms(5 * 60_000, 200),
  /** How often the doctor runs; a FAIL raises an alert. */
  RAYVAULT_DOCTOR_EVERY_MS: ms(15 * 60_000, 200),
  /** Retention: checkpoint files of finished runs and staging leftovers older than this go. */
  RAYVAULT_RETENTION_MS: ms(7 * 24 * 3600_000, 1000),
  RAYVAULT_RETENTION_EVERY_MS: ms(6 * 3600_000, 200),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

/**
 * The scheduler process's configuration, parsed once at start (`env` for tests; .env is read only for the real
 * environment).
 */
export function loadSchedulerConfig(env: NodeJS.ProcessEnv = process.env): Config & SchedulerConfig {
  return loadConfig(env, { schema: schedulerConfigSchema });
}
