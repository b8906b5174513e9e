import { mediaDirOf, parseFetchAllow, type Runtime, type StageProcessor } from '@rayvault/shared';
import { resolveMediaOptions, type MediaConfig, type MediaOptions } from './config.schema';
import { createQcProcessor } from './qc/qc.processor';
import { createRenderProcessor } from './render/render.processor';
import { createRenderProvider } from './render/select-provider';
import { createVoiceProcessor } from './voice/voice.processor';

/** An image is cosmetic: a host slower than this gets a title card instead of holding the render up. */
const IMAGE_FETCH_TIMEOUT_MS = 15_000;

/**
 * The voice, render and qc consumers of one worker (options from `config`, then `overrides`); the render provider is
 * closed with the runtime.
 */
export function createMediaProcessors(
  rt: Runtime,
  config: MediaConfig,
  overrides: Partial<MediaOptions> = {},
): { voice: StageProcessor; render: StageProcessor; qc: StageProcessor } {
  const options = resolveMediaOptions(config, overrides);
  const provider = createRenderProvider(options, config, rt.log);
  rt.releasers.push(`render-provider-${provider.name}`, () => provider.close?.());
  return {
    voice: createVoiceProcessor({ stateDir: rt.stateDir, options }),
    render: createRenderProcessor({
      rpc: rt.store.rpc,
      stateDir: rt.stateDir,
      provider,
      images: {
        mediaDir: mediaDirOf(rt.config),
        maxBytes: rt.config.RAYVAULT_FETCH_MAX_BYTES,
        allow: parseFetchAllow(rt.config.RAYVAULT_FETCH_ALLOW),
        timeoutMs: IMAGE_FETCH_TIMEOUT_MS,
      },
    }),
    qc: createQcProcessor({
      rpc: rt.store.rpc,
      alerter: rt.alerter,
      stateDir: rt.stateDir,
      toleranceS: options.toleranceS,
    }),
  };
}
