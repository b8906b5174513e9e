import type { Runtime, StageProcessor } from '@rayvault/shared';
import { resolveMediaOptions, type MediaOptions } from './config.schema';
import { createQcProcessor } from './qc/qc.processor';
import { createRenderProcessor } from './render/render.processor';
import { createRenderProvider } from './render/select-provider';
import { createVoiceProcessor } from './voice/voice.processor';

/** The voice, render and qc consumers of one worker; the render provider is closed with the runtime. */
export function createMediaProcessors(rt: Runtime, options: MediaOptions = resolveMediaOptions()): { voice: StageProcessor; render: StageProcessor; qc: StageProcessor } {
  const provider = createRenderProvider(options, rt.config, rt.log);
  rt.releasers.push(`render-provider-${provider.name}`, () => provider.close?.());
  return {
    voice: createVoiceProcessor({ stateDir: rt.stateDir, options }),
    render: createRenderProcessor({ rpc: rt.store.rpc, stateDir: rt.stateDir, provider }),
    qc: createQcProcessor({ rpc: rt.store.rpc, alerter: rt.alerter, stateDir: rt.stateDir, toleranceS: options.toleranceS }),
  };
}
