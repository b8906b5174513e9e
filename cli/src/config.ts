import { baseConfigSchema, loadConfig, pricingFields, type BaseConfig, type Config } from '@rayvault/shared';
import { evidenceFields } from '@rayvault/evidence-worker';
import { mediaConfigSchema, mediaFields } from '@rayvault/render-worker';
import type { z } from 'zod';

/** `rayvault worker` runs every stage in one process: the evidence worker's variables and the render worker's. */
export const workerConfigSchema = mediaConfigSchema.extend(evidenceFields.shape);
/** `rayvault report` prices the credits ledger. */
export const reportConfigSchema = baseConfigSchema.extend(pricingFields.shape);
/** `rayvault check-contract` holds durations to the voice tolerance. */
export const contractConfigSchema = baseConfigSchema.extend(mediaFields.shape);

/**
 * The CLI's configuration, from the environment and .env like the services', parsed once
 * per command with the schema the verb needs (the base schema unless it says otherwise).
 * The CLI logs warnings and worse unless RAYVAULT_LOG_LEVEL is set.
 */
export function loadCliConfig<C extends BaseConfig = BaseConfig>(
  schema?: z.ZodType<C>,
): { config: Config & C; logLevel: string } {
  const config = loadConfig(process.env, { schema });
  return { config, logLevel: process.env.RAYVAULT_LOG_LEVEL ? config.RAYVAULT_LOG_LEVEL : 'warn' };
}

/** Who an action from this shell is recorded as, unless --operator names someone. */
export function cliActor(): string {
  return `cli:${process.env.USER ?? 'operator'}`;
}
