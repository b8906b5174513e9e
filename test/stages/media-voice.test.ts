// The voice stage's contract with real espeak-ng and ffprobe: repair within the
// tries, panic after them, and the same input found again by its content hash.
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPanic, type Run } from '@rayvault/shared';
import { fitSegment, probeMedia, speechCachePath, synthesize } from '@rayvault/render-worker';
import { scriptForRun } from '../../services/render-worker/src/voice/script';

const tmp = (label: string) => mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), `${label}-`));
const TEXT = 'The Acme Kettle Pro boils a full litre of water in about three minutes.';

it('a target the default rate misses is met by adjusting the rate within the tries', async () => {
  const cacheDir = tmp('voice-repair');
  const natural = (await probeMedia((await synthesize(cacheDir, { text: TEXT, rate: 175, voice: 'en' })).path))
    .duration_s;
  const target = Math.round((natural + 3) * 10) / 10; // three seconds slower than espeak-ng speaks it at 175 wpm
  const seg = await fitSegment(
    { cacheDir, voice: 'en', rate: 175, toleranceS: 0.5, maxTries: 4 },
    { text: TEXT, target_s: target },
    1,
  );
  expect(seg.tries).toBeGreaterThan(1);
  expect(seg.tries).toBeLessThanOrEqual(4);
  expect(seg.rate).toBeLessThan(175);
  expect(Math.abs(seg.duration_s - target)).toBeLessThanOrEqual(0.5);
  expect(seg.drift_s).toBeCloseTo(seg.duration_s - target, 3);
  // The measured duration is the file's, as ffprobe reads it.
  expect((await probeMedia(seg.audio_path)).duration_s).toBeCloseTo(seg.duration_s, 2);
});

it('an impossible target ends in panic_voice_contract_drift after the tries, with what was tried', async () => {
  const err = await fitSegment(
    { cacheDir: tmp('voice-panic'), voice: 'en', rate: 175, toleranceS: 1.5, maxTries: 3 },
    { text: 'Hello.', target_s: 30 },
    2,
  ).catch((e: unknown) => e);
  expect(isPanic(err) && err.kind).toBe('panic_voice_contract_drift');
  expect((err as Error).message).toMatch(
    /segment 2: .* tries for a target of 30 s ± 1.5 s .*edit the segment text or its target/,
  );
  const tries = (err as { details: { tries: { rate: number }[] } }).details.tries;
  expect(tries.length).toBeGreaterThanOrEqual(2);
  expect(tries.length).toBeLessThanOrEqual(3);
  expect(tries[tries.length - 1]!.rate).toBe(80); // slowest espeak-ng can speak
});

it('identical input gives the identical file, found again by its content hash', async () => {
  const cacheDir = tmp('voice-cache');
  const speech = { text: TEXT, rate: 160, voice: 'en' };
  const first = await synthesize(cacheDir, speech);
  const mtime = statSync(first.path).mtimeMs;
  const again = await synthesize(cacheDir, speech);
  expect(first.cached).toBe(false);
  expect(again).toEqual({ path: first.path, cached: true });
  expect(statSync(again.path).mtimeMs).toBe(mtime);
  expect(path.basename(first.path)).toMatch(/^[0-9a-f]{64}\.wav$/);
  expect(speechCachePath(cacheDir, { ...speech, rate: 161 })).not.toBe(first.path);
  const fit1 = await fitSegment(
    { cacheDir, voice: 'en', rate: 160, toleranceS: 10, maxTries: 1 },
    { text: TEXT, target_s: 5 },
    1,
  );
  expect(fit1.audio_path).toBe(first.path);
});

it('without a script, the voice script is a template over the evidence claims', () => {
  const run = {
    id: 'r',
    input: {},
    product: { name: 'Kettle' },
    output: {
      evidence: { product: { name: 'Kettle Pro', brand: 'Acme', price: 39.9, currency: 'USD', voltage: '220 V' } },
    },
  } as unknown as Run;
  const script = scriptForRun(run, 175);
  const text = script.map((s) => s.text).join(' ');
  expect(text).toMatch(/Meet the Kettle Pro by Acme/);
  expect(text).toMatch(/39.9 US dollars/);
  expect(text).toMatch(/220 volts/);
  for (const s of script) expect(s.target_s).toBeGreaterThan(0);
  const own = scriptForRun({ ...run, input: { script: [{ text: 'Mine.', target_s: 2 }] } } as Run, 175);
  expect(own).toEqual([{ text: 'Mine.', target_s: 2 }]);
  expect(() => scriptForRun({ ...run, input: { script: [{ text: '', target_s: -1 }] } } as Run, 175)).toThrow(
    /input.script is invalid/,
  );
  // The evidence stage reports a claim no source made as null; the template leaves it out.
  const sparse = scriptForRun(
    {
      ...run,
      output: {
        evidence: { product: { name: 'Kettle Pro', brand: null, model: null, price: 12, currency: null, image: null } },
      },
    } as unknown as Run,
    175,
  );
  expect(sparse.map((s) => s.text)).toEqual([
    'Meet the Kettle Pro. Here is what the evidence says.',
    'Trusted sources list it at 12.',
    expect.stringMatching(/^That is the Kettle Pro/),
  ]);
  // A script in the product file travels in the evidence output.
  expect(
    scriptForRun(
      { ...run, output: { evidence: { script: [{ text: 'From the file.', target_s: 2 }] } } } as unknown as Run,
      175,
    ),
  ).toEqual([{ text: 'From the file.', target_s: 2 }]);
});
