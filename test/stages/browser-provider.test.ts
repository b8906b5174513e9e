// The browser render provider in the real Chromium against the local studio
// double: what the operator sees for a good render and for each way a
// studio lets a render worker down.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, isPanic, PanicError, TransientError } from '@rayvault/shared';
import {
  browserConfigSchema,
  createBrowserProvider,
  loadStepFile,
} from '../../services/render-worker/src/render/browser';
import type { RenderProvider, RenderRequest } from '@rayvault/render-worker';
import { startStudio, type Studio } from '../fixtures/studio/studio-double';
import { freePort, waitFor } from '../support/harness';
import { renderProviderContract } from '../support/render-contract';

const run = promisify(execFile);
let dir: string;
let image: string;
let audio: string;
let voiceSeconds: number;
let studio: Studio;
let provider: RenderProvider;
let n = 0;

type Probe = {
  streams: Array<{ codec_type: string; codec_name: string }>;
  format: { duration: string; tags?: { title?: string } };
};
async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name:format=duration:format_tags=title',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout) as Probe;
}

function providerFor(url: string, env: Record<string, string | number> = {}, stepFile?: string): RenderProvider {
  return createBrowserProvider(
    browserConfigSchema.parse({
      RAYVAULT_STUDIO_URL: url,
      RAYVAULT_BROWSER_WATCHDOG_MS: 200,
      RAYVAULT_BROWSER_FROZEN_MS: 5000,
      RAYVAULT_LOG_LEVEL: 'silent',
      ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
      ...(stepFile ? { RAYVAULT_STUDIO_STEPS: stepFile } : {}),
      ...env,
    }),
  );
}

function request(over: Partial<RenderRequest> = {}): RenderRequest {
  n += 1;
  return {
    runId: `run-${n}`,
    segment: n,
    imagePath: image,
    title: `Aurora X2 kettle, part ${n}`,
    audioPath: audio,
    stagingDir: path.join(dir, `staging-${n}`),
    signal: new AbortController().signal,
    ...over,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rv-browser-'));
  image = path.join(dir, 'product.png');
  audio = path.join(dir, 'voice.wav');
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=orange:s=640x480', '-frames:v', '1', image]);
  await run('espeak-ng', ['-w', audio, 'This kettle boils a litre of water in three minutes and switches itself off.']);
  voiceSeconds = Number(
    (await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', audio])).stdout,
  );
  studio = await startStudio({ mode: 'ok' });
  provider = providerFor(studio.url);
});

afterAll(async () => {
  await provider?.close?.();
  await studio?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => studio.setMode('ok'));

renderProviderContract('browser (studio double)', () => providerFor(studio.url));

test('ok: the export is an H.264/AAC MP4 as long as the voice, in the staging dir, with the credits the studio charged', async () => {
  const req = request();
  const balance = studio.balance;
  const result = await provider.render(req);

  expect(result.provider).toBe('browser');
  expect(path.dirname(result.path)).toBe(req.stagingDir);
  const media = await probe(result.path);
  expect(media.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
  expect(Math.abs(Number(media.format.duration) - voiceSeconds)).toBeLessThan(0.1);
  expect(media.format.tags?.title).toBe(req.title);
  expect(result.credits).toBe(studio.renders.at(-1)?.credits);
  expect(result.credits).toBe(Math.ceil(voiceSeconds / 5));
  expect(studio.balance).toBe(balance - result.credits);
});

test("a segment without a picture gets the studio's title card (the optional upload is skipped)", async () => {
  const result = await provider.render(request({ imagePath: undefined }));
  expect(studio.renders.at(-1)?.hadImage).toBe(false);
  expect((await probe(result.path)).streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
});

test('freeze: a studio page that stops answering is panic_browser_frozen, and the next render works', async () => {
  studio.setMode('freeze');
  const err = await provider.render(request()).catch((e: unknown) => e);
  expect(isPanic(err)).toBe(true);
  expect((err as PanicError).kind).toBe('panic_browser_frozen');
  expect((err as Error).message).toMatch(/did not answer for 5000 ms; restart the browser/);

  studio.setMode('ok');
  const result = await provider.render(request());
  expect((await probe(result.path)).streams).toHaveLength(2);
});

test('corrupt: an export cut short is panic_dzine_ui_failure and stays in the staging dir', async () => {
  studio.setMode('corrupt');
  const req = request();
  const err = await provider.render(req).catch((e: unknown) => e);
  expect((err as PanicError).kind).toBe('panic_dzine_ui_failure');
  expect((err as Error).message).toMatch(/does not decode/);
  expect(await readdir(req.stagingDir)).toEqual([`${req.runId}-${req.segment}.browser.mp4`]);
});

test("fail: the studio's error message becomes a retryable error", async () => {
  studio.setMode('fail');
  const err = await provider.render(request()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect((err as Error).message).toContain('Render failed: the render node crashed (E502). Please try again.');
});

test('no credits: a refusal that retrying cannot fix is panic_dzine_ui_failure', async () => {
  studio.setMode('no_credits');
  const err = await provider.render(request()).catch((e: unknown) => e);
  expect((err as PanicError).kind).toBe('panic_dzine_ui_failure');
  expect((err as Error).message).toMatch(/Not enough credits: 0 left/);
});

test('a studio that cannot be reached is a retryable error naming its address', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const offline = providerFor(url);
  try {
    const err = await offline.render(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toContain(`the studio at ${url} cannot be reached`);
  } finally {
    await offline.close?.();
  }
});

test('a step file that no longer matches the studio UI is panic_dzine_ui_failure naming the step', async () => {
  const steps = path.join(dir, 'drifted.steps.yaml');
  await writeFile(
    steps,
    JSON.stringify({
      name: 'drifted',
      timeoutMs: 1000,
      steps: [
        { action: 'open', path: '/' },
        { action: 'upload', selector: '#voice-upload', file: 'audio' },
        { action: 'download', selector: '#download' },
        { action: 'readCredits', selector: '#credits-used' },
      ],
    }),
  );
  const drifted = providerFor(studio.url, {}, steps);
  try {
    const err = await drifted.render(request()).catch((e: unknown) => e);
    expect((err as PanicError).kind).toBe('panic_dzine_ui_failure');
    expect((err as Error).message).toMatch(/step 2 \(upload #voice-upload\).*update .*drifted\.steps\.yaml/);
  } finally {
    await drifted.close?.();
  }
});

test('an invalid step file is refused with every problem listed', async () => {
  const steps = path.join(dir, 'broken.steps.yaml');
  await writeFile(steps, 'name: broken\nsteps:\n  - action: click\n  - action: fly\n');
  const err = await loadStepFile(steps).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(/steps\.0\.selector/);
  expect((err as Error).message).toMatch(/steps\.1\.action/);
});

test('a render stops when its signal aborts, with the abort reason', async () => {
  const patient = providerFor(studio.url, { RAYVAULT_BROWSER_FROZEN_MS: 60_000 });
  try {
    studio.setMode('freeze');
    const controller = new AbortController();
    const started = studio.renders.length;
    const rendering = patient.render(request({ signal: controller.signal })).catch((e: unknown) => e);
    await waitFor('the studio to start the render', () => studio.renders.length > started);
    controller.abort(new Error('operator aborted the run'));
    expect(((await rendering) as Error).message).toBe('operator aborted the run');
  } finally {
    await patient.close?.();
  }
});

test('without RAYVAULT_STUDIO_URL the provider refuses to start and says what to set', () => {
  expect(() => createBrowserProvider(browserConfigSchema.parse({}))).toThrow(/RAYVAULT_STUDIO_URL is not set/);
});
