import path from 'node:path';
import { baseConfigSchema, ConfigError, createLogger, type BaseConfig, type Logger } from '@rayvault/shared';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** The step file for the local studio double (test/fixtures/studio); Dzine needs its own. */
export const DEFAULT_STEP_FILE = path.join(__dirname, 'steps', 'studio-double.steps.yaml');

/** Variables only the browser render provider reads (CHROMIUM_PATH is in the base schema). */
export const browserConfigFields = z.object({
  /** Base URL of the web render studio the step file drives; `open` paths are resolved against it. */
  RAYVAULT_STUDIO_URL: z.string().url().optional(),
  /** Declarative steps (YAML or JSON) for that studio: selectors, waits, download, credits. */
  RAYVAULT_STUDIO_STEPS: z.string().min(1).default(DEFAULT_STEP_FILE),
  /** How often the watchdog asks the page to evaluate a trivial expression. */
  RAYVAULT_BROWSER_WATCHDOG_MS: ms(2000, 50),
  /** A page that has not answered for this long is frozen: panic_browser_frozen. */
  RAYVAULT_BROWSER_FROZEN_MS: ms(30_000, 100),
});

export const browserConfigSchema = baseConfigSchema.extend(browserConfigFields.shape);
export type BrowserConfig = z.infer<typeof browserConfigSchema>;

/** The provider's options, every default filled. */
export type BrowserOptions = {
  chromiumPath: string;
  studioUrl: string;
  stepFile: string;
  watchdogMs: number;
  frozenMs: number;
  log: Logger;
};

/** Chromium flags that keep it from stalling on a closed network or a machine without a GPU or sandbox. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Options from `config`, then `env` for any browser variable the config lacks (the CLI's
 * `worker` verb parses only the base schema, which drops them), then `overrides`.
 * Every bad variable is reported together.
 */
export function resolveBrowserOptions(
  config: BaseConfig & Partial<BrowserConfig>,
  overrides: Partial<BrowserOptions> = {},
  env: Record<string, unknown> = process.env,
): BrowserOptions {
  const given = Object.fromEntries(Object.keys(browserConfigFields.shape)
    .map((k) => [k, (config as Record<string, unknown>)[k] ?? env[k]])
    .filter(([, v]) => v !== undefined && v !== ''));
  const parsed = browserConfigFields.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid browser render provider configuration:\n${lines.join('\n')}`);
  }
  const b = parsed.data;
  const studioUrl = overrides.studioUrl ?? b.RAYVAULT_STUDIO_URL;
  if (!studioUrl) {
    throw new ConfigError('RAYVAULT_STUDIO_URL is not set: the browser render provider needs the render studio\'s address (or use the local ffmpeg provider)');
  }
  return {
    chromiumPath: config.CHROMIUM_PATH,
    studioUrl,
    stepFile: b.RAYVAULT_STUDIO_STEPS,
    watchdogMs: b.RAYVAULT_BROWSER_WATCHDOG_MS,
    frozenMs: b.RAYVAULT_BROWSER_FROZEN_MS,
    log: overrides.log ?? createLogger('render-worker', config.RAYVAULT_LOG_LEVEL),
    ...overrides,
  };
}
