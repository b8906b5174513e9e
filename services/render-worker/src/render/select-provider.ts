import type { Logger } from '@rayvault/shared';
import type { MediaOptions } from '../config.schema';
import { createBrowserProvider, type BrowserConfig } from './browser';
import { createLocalProvider } from './local-provider';
import type { RenderProvider } from './provider';

/**
 * The provider RAYVAULT_RENDER_PROVIDER names. Built at worker start so a bad
 * configuration stops the worker with its message; the browser provider
 * launches Chromium only on its first render.
 */
export function createRenderProvider(options: MediaOptions, config: BrowserConfig, log: Logger): RenderProvider {
  switch (options.provider) {
    case 'local':
      return createLocalProvider({ width: options.width, height: options.height });
    case 'browser':
      return createBrowserProvider(config, { log: log.child({ provider: 'browser' }) });
  }
}
