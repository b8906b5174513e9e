import path from 'node:path';
import { baseConfigSchema, ConfigError, createLogger, type Logger } from '@rayvault/shared';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** The step file for the local studio double (test/fixtures/studio); Dzine needs its own. */
export const DEFAULT_STEP_FILE = path.join(__dirname, 'steps', 'studio-double.steps.yaml');

/** Variables only the browser render provider reads. */
export const browserConfigFields = z.object({
  /** The system Chromium (never a downloaded browser). */
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
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
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Options from the parsed config (the render worker's schema includes the browser
 * variables), then `overrides`. The studio's address is needed only by this provider,
 * so its absence is reported here, when the provider is chosen.
 */
export function resolveBrowserOptions(config: BrowserConfig, overrides: Partial<BrowserOptions> = {}): BrowserOptions {
  const studioUrl = overrides.studioUrl ?? config.RAYVAULT_STUDIO_URL;
  if (!studioUrl) {
    throw new ConfigError(
      "RAYVAULT_STUDIO_URL is not set: the browser render provider needs the render studio's address (or use the local ffmpeg provider)",
    );
  }
  return {
    chromiumPath: config.CHROMIUM_PATH,
    studioUrl,
    stepFile: config.RAYVAULT_STUDIO_STEPS,
    watchdogMs: config.RAYVAULT_BROWSER_WATCHDOG_MS,
    frozenMs: config.RAYVAULT_BROWSER_FROZEN_MS,
    log: overrides.log ?? createLogger('render-worker', config.RAYVAULT_LOG_LEVEL),
    ...overrides,
  };
}
