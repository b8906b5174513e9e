import { PanicError } from '@rayvault/shared';
import { mediaDuration } from '../media/probe';
import { RATE_RANGE, synthesize } from './espeak-tts';
import type { ScriptSegment } from './script';

export type VoiceFit = {
  cacheDir: string;
  voice: string;
  rate: number;
  toleranceS: number;
  maxTries: number;
  signal?: AbortSignal;
};

/** A narrated segment that meets its contract (checkpointed per segment, so JSON only). */
export type VoiceSegment = {
  segment: number;
  text: string;
  target_s: number;
  audio_path: string;
  duration_s: number;
  drift_s: number;
  rate: number;
  tries: number;
};

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const clampRate = (r: number) => Math.min(RATE_RANGE.max, Math.max(RATE_RANGE.min, Math.round(r)));

/**
 * Synthesizes one segment and repairs its length: espeak-ng's duration scales as
 * 1/rate, so each retry sets rate × actual / target. Gives up after `maxTries`
 * syntheses, or sooner once the rate is pinned at espeak-ng's limit.
 */
export async function fitSegment(fit: VoiceFit, seg: ScriptSegment, segment: number): Promise<VoiceSegment> {
  let rate = clampRate(fit.rate);
  const history: { rate: number; duration_s: number }[] = [];
  for (let tries = 1; tries <= fit.maxTries; tries++) {
    const audio = await synthesize(fit.cacheDir, { text: seg.text, rate, voice: fit.voice }, fit.signal);
    const duration = round3(await mediaDuration(audio.path, fit.signal));
    const drift = round3(duration - seg.target_s);
    history.push({ rate, duration_s: duration });
    if (Math.abs(drift) <= fit.toleranceS) {
      return {
        segment,
        text: seg.text,
        target_s: seg.target_s,
        audio_path: audio.path,
        duration_s: duration,
        drift_s: drift,
        rate,
        tries,
      };
    }
    const next = clampRate((rate * duration) / seg.target_s);
    if (next === rate) break;
    rate = next;
  }
  const last = history[history.length - 1]!;
  throw new PanicError(
    'panic_voice_contract_drift',
    `segment ${segment}: ${last.duration_s} s after ${history.length} tries for a target of ${seg.target_s} s ± ${fit.toleranceS} s ` +
      `(last rate ${last.rate} wpm): edit the segment text or its target, then resume the run`,
    { details: { segment, target_s: seg.target_s, tolerance_s: fit.toleranceS, tries: history } },
  );
}
