import { stateLayout, type StageProcessor } from '@rayvault/shared';
import type { MediaOptions } from '../config.schema';
import { sha256Text } from '../media/file-hash';
import { fitSegment, type VoiceSegment } from './fit-segment';
import { scriptForRun, type ScriptSegment } from './script';

/** What the voice stage hands to render and qc (`run.output.voice`). */
export type VoiceOutput = { segments: VoiceSegment[]; total_s: number; tolerance_s: number };

export const segmentStep = (n: number) => `seg-${String(n).padStart(2, '0')}`;

/**
 * A voice step is named for its segment and its content: after the operator edits a segment, only that one is narrated
 * again.
 */
const voiceStep = (n: number, seg: ScriptSegment) =>
  `${segmentStep(n)}-${sha256Text(seg.text, String(seg.target_s)).slice(0, 8)}`;

/**
 * Voice stage: one checkpointed step per segment of the script; a resume skips
 * the segments already narrated and re-reads the script, so a text the operator
 * fixed after panic_voice_contract_drift is the one narrated.
 */
export function createVoiceProcessor(deps: { stateDir: string; options: MediaOptions }): StageProcessor {
  const cacheDir = stateLayout(deps.stateDir).voiceCache;
  const { options } = deps;
  return async (ctx) => {
    const script = scriptForRun(ctx.run, options.rate);
    const segments: VoiceSegment[] = [];
    for (const [i, seg] of script.entries()) {
      const fit = {
        cacheDir,
        voice: options.voice,
        rate: options.rate,
        toleranceS: options.toleranceS,
        maxTries: options.maxTries,
        signal: ctx.signal,
      };
      segments.push(await ctx.step(voiceStep(i + 1, seg), () => fitSegment(fit, seg, i + 1)));
    }
    const repaired = segments
      .filter((s) => s.tries > 1)
      .map((s) => ({ segment: s.segment, tries: s.tries, rate: s.rate, drift_s: s.drift_s }));
    if (repaired.length) await ctx.emit('voice_repaired', { segments: repaired });
    const total = Math.round(segments.reduce((a, s) => a + s.duration_s, 0) * 1000) / 1000;
    ctx.log.info({ segments: segments.length, totalS: total, repaired: repaired.length }, 'voice ready');
    const output: VoiceOutput = { segments, total_s: total, tolerance_s: options.toleranceS };
    return { output };
  };
}
