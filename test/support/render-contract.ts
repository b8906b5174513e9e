// The render provider contract: every provider (local ffmpeg, browser studio) runs
// through this same suite. Call it from a test file with a factory of the provider.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readSync, closeSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeMedia, synthesize, verifyExport, type RenderProvider, type RenderRequest } from '@rayvault/render-worker';

/** Top-level MP4 boxes in file order (faststart puts `moov` before `mdat`). */
export function mp4TopLevelBoxes(file: string): string[] {
  const fd = openSync(file, 'r');
  const size = statSync(file).size;
  const boxes: string[] = [];
  try {
    const head = Buffer.alloc(16);
    for (let pos = 0; pos + 8 <= size;) {
      readSync(fd, head, 0, 16, pos);
      let len = head.readUInt32BE(0);
      if (len === 1) len = Number(head.readBigUInt64BE(8));
      boxes.push(head.toString('latin1', 4, 8));
      if (len < 8) break;
      pos += len;
    }
  } finally {
    closeSync(fd);
  }
  return boxes;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

export function renderProviderContract(label: string, factory: () => RenderProvider | Promise<RenderProvider>): void {
  describe(`render provider contract: ${label}`, () => {
    let provider: RenderProvider;
    let sandbox: string;
    let audio: string;
    let audioS: number;
    let image: string;
    let n = 0;
    const request = (extra: Partial<RenderRequest> = {}): RenderRequest => ({
      runId: '00000000-0000-4000-8000-000000000001',
      segment: ++n,
      title: 'Acme Kettle Pro',
      audioPath: audio,
      stagingDir: path.join(sandbox, 'staging', `seg-${n}`),
      signal: new AbortController().signal,
      ...extra,
    });

    beforeAll(async () => {
      provider = await factory();
      sandbox = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'render-contract-'));
      audio = (
        await synthesize(path.join(sandbox, 'voice'), {
          text: 'The Acme Kettle Pro boils a litre in three minutes.',
          rate: 175,
          voice: 'en',
        })
      ).path;
      audioS = (await probeMedia(audio)).duration_s;
      image = path.join(sandbox, 'product.png');
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=800x600', '-frames:v', '1', image]);
    });
    afterAll(async () => {
      await provider?.close?.();
    });

    it('a title card + narration becomes an H.264/AAC yuv420p MP4, faststart, as long as the narration', async () => {
      const req = request();
      const result = await provider.render(req);
      expect(result.provider).toBe(provider.name);
      expect(result.credits).toBeGreaterThanOrEqual(0);
      expect(path.relative(req.stagingDir, result.path).startsWith('..')).toBe(false);
      const probe = await probeMedia(result.path);
      expect(probe.streams).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ codec_type: 'video', codec_name: 'h264', pix_fmt: 'yuv420p' }),
          expect.objectContaining({ codec_type: 'audio', codec_name: 'aac' }),
        ]),
      );
      expect(Math.abs(probe.duration_s - audioS)).toBeLessThanOrEqual(0.5);
      const boxes = mp4TopLevelBoxes(result.path);
      expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
      expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
      await expect(verifyExport(result.path, audioS)).resolves.toEqual({ duration_s: probe.duration_s });
    });

    it('a product image + narration becomes a valid MP4', async () => {
      const result = await provider.render(request({ imagePath: image }));
      await expect(verifyExport(result.path, audioS)).resolves.toBeTruthy();
    });

    it('writes only under its staging dir', async () => {
      const before = new Set(filesUnder(sandbox));
      const req = request();
      await provider.render(req);
      const created = filesUnder(sandbox).filter((f) => !before.has(f));
      expect(created.length).toBeGreaterThan(0);
      for (const f of created) expect(path.relative(req.stagingDir, f).startsWith('..')).toBe(false);
    });

    it('honours an aborted signal: the render rejects', async () => {
      await expect(provider.render(request({ signal: AbortSignal.abort(new Error('stop now')) }))).rejects.toThrow(
        'stop now',
      );
      const controller = new AbortController();
      const running = provider.render(request({ signal: controller.signal }));
      controller.abort(new Error('stopped mid-render'));
      await expect(running).rejects.toThrow('stopped mid-render');
    });
  });
}
