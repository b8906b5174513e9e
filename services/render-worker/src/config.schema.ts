import { baseConfigSchema, loadConfig, type Config } from '@rayvault/shared';
import { z } from 'zod';
import { browserConfigFields } from './render/browser/browser-config.schema';

/** Variables only the render worker reads (voice, render and qc stages). */
export const mediaFields = z.object({
  /** Allowed |actual − target| of a voice segment, in seconds. */
  RAYVAULT_VOICE_TOLERANCE_S: z.coerce.number().positive().default(1.5),
  /** Syntheses per segment (the first plus repairs) before panic_voice_contract_drift. */
  RAYVAULT_VOICE_MAX_TRIES: z.coerce.number().int().min(1).max(20).default(4),
  /** espeak-ng speaking rate to start from, words per minute (espeak-ng -s). */
  RAYVAULT_VOICE_RATE: z.coerce.number().int().min(80).max(450).default(175),
  /** espeak-ng voice (espeak-ng --voices lists them). */
  RAYVAULT_VOICE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_+-]{1,40}$/, 'an espeak-ng voice name such as en, en-us, pt-br')
    .default('en'),
  /** `local` renders with ffmpeg; `browser` drives the web render studio with Chromium. */
  RAYVAULT_RENDER_PROVIDER: z.enum(['local', 'browser']).default('local'),
  /** Frame size of locally rendered segments, WIDTHxHEIGHT (even numbers for yuv420p). */
  RAYVAULT_RENDER_SIZE: z
    .string()
    .regex(/^\d{2,4}x\d{2,4}$/, 'WIDTHxHEIGHT, e.g. 1280x720')
    .default('1280x720'),
});

/** The render worker's whole configuration: the media stages' variables and the browser provider's. */
export const mediaConfigSchema = baseConfigSchema.extend({ ...mediaFields.shape, ...browserConfigFields.shape });
export type MediaConfig = z.infer<typeof mediaConfigSchema>;

/**
 * The render worker process's configuration, parsed once at start (`env` for tests; .env is read only for the real
 * environment).
 */
export function loadMediaConfig(env: NodeJS.ProcessEnv = process.env): Config & MediaConfig {
  return loadConfig(env, { schema: mediaConfigSchema });
}

/** The media stages' options, every default filled. */
export type MediaOptions = {
  toleranceS: number;
  maxTries: number;
  rate: number;
  voice: string;
  provider: 'local' | 'browser';
  width: number;
  height: number;
};

/** Options from the parsed config, then `overrides`. */
export function resolveMediaOptions(
  c: z.infer<typeof mediaFields>,
  overrides: Partial<MediaOptions> = {},
): MediaOptions {
  const [width, height] = c.RAYVAULT_RENDER_SIZE.split('x').map(Number) as [number, number];
  return {
    toleranceS: c.RAYVAULT_VOICE_TOLERANCE_S,
    maxTries: c.RAYVAULT_VOICE_MAX_TRIES,
    rate: c.RAYVAULT_VOICE_RATE,
    voice: c.RAYVAULT_VOICE_NAME,
    provider: c.RAYVAULT_RENDER_PROVIDER,
    width: width - (width % 2),
    height: height - (height % 2),
    ...overrides,
  };
}
