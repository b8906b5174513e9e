// The render provider contract run against the local (ffmpeg) provider, and the
// ffprobe gate every export passes before it is promoted.
import { copyFileSync, mkdtempSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPanic } from '@rayvault/shared';
import { createLocalProvider, probeMedia, synthesize, verifyExport } from '@rayvault/render-worker';
import { renderProviderContract } from '../support/render-contract';

renderProviderContract('local', () => createLocalProvider({ width: 640, height: 360 }));

it('an export ffprobe rejects is panic_dzine_ui_failure, and the file stays in staging', async () => {
  const dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'export-gate-'));
  const audio = (await synthesize(path.join(dir, 'voice'), { text: 'A short line.', rate: 175, voice: 'en' })).path;
  const provider = createLocalProvider({ width: 320, height: 240 });
  const good = await provider.render({
    runId: '00000000-0000-4000-8000-000000000002',
    segment: 1,
    title: 'Gate',
    audioPath: audio,
    stagingDir: path.join(dir, 'staging'),
    signal: new AbortController().signal,
  });
  const audioS = (await probeMedia(audio)).duration_s;

  const truncated = path.join(dir, 'staging', 'truncated.mp4');
  copyFileSync(good.path, truncated);
  truncateSync(truncated, Math.floor(statSync(truncated).size / 3));
  const err = await verifyExport(truncated, audioS).catch((e: unknown) => e);
  expect(isPanic(err) && err.kind).toBe('panic_dzine_ui_failure');
  expect((err as Error).message).toMatch(/rejected by ffprobe.*kept there for inspection/);
  expect(statSync(truncated).size).toBeGreaterThan(0);

  // A valid file of the wrong length is rejected too (an export of another segment).
  const wrongLength = await verifyExport(good.path, audioS + 5).catch((e: unknown) => e);
  expect(isPanic(wrongLength) && wrongLength.kind).toBe('panic_dzine_ui_failure');
});
