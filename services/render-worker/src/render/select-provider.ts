import { ConfigError } from '@rayvault/shared';
import type { MediaOptions } from '../config.schema';
import { createLocalProvider } from './local-provider';
import type { RenderProvider } from './provider';

/** The provider RAYVAULT_RENDER_PROVIDER names. */
export function createRenderProvider(options: MediaOptions): RenderProvider {
  switch (options.provider) {
    case 'local':
      return createLocalProvider({ width: options.width, height: options.height });
    case 'browser':
      throw new ConfigError('RAYVAULT_RENDER_PROVIDER=browser: the browser provider is not part of this build yet; use local');
  }
}
