import type { Runtime, StageProcessor } from '@rayvault/shared';
import { resolveMediaOptions, type MediaOptions } from './config.schema';
import { createQcProcessor } from './qc/qc.processor';
import type { RenderProvider } from './render/provider';
import { createRenderProcessor } from './render/render.processor';
import { createRenderProvider } from './render/select-provider';
import { createVoiceProcessor } from './voice/voice.processor';

/**
 * The voice, render and qc consumers of one worker. The render provider is made on
 * first use (the browser one starts Chromium) and closed with the runtime.
 */
export function createMediaProcessors(rt: Runtime, options: MediaOptions = resolveMediaOptions()): { voice: StageProcessor; render: StageProcessor; qc: StageProcessor } {
  let provider: RenderProvider | undefined;
  const getProvider = () => {
    if (!provider) {
      const p = createRenderProvider(options);
      provider = p;
      rt.releasers.push(`render-provider-${p.name}`, () => p.close?.());
    }
    return provider;
  };
  return {
    voice: createVoiceProcessor({ stateDir: rt.stateDir, options }),
    render: createRenderProcessor({ rpc: rt.store.rpc, stateDir: rt.stateDir, provider: getProvider }),
    qc: createQcProcessor({ rpc: rt.store.rpc, alerter: rt.alerter, stateDir: rt.stateDir, toleranceS: options.toleranceS }),
  };
}
