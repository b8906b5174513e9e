// Ways to make RayVault read a file of this machine into a video (and upload it
// to the render studio), or read a file that never ends: a product image or a
// source file named by a source page, an API caller, a schedule file or a
// symlink swapped in after the CLI checked the path. Real Redis, Postgres,
// espeak-ng, ffmpeg and a loopback image server.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ConfigError,
  createWorkerHost,
  loadProductFile,
  submitRun,
  type RunDetail,
  type Runtime,
  type StageProcessor,
  type WorkerHost,
} from '@rayvault/shared';
import { createMediaProcessors, type RenderOutput } from '@rayvault/render-worker';
import { loadMediaConfig } from '../../services/render-worker/src/config.schema';
import { createBreakers } from '../../services/evidence-worker/src/fetch/breakers';
import { createContentCache } from '../../services/evidence-worker/src/fetch/content-cache';
import { createSourceReader } from '../../services/evidence-worker/src/fetch/source-reader';
import { readScheduleFile } from '../../services/scheduler/src/schedule-file';
import { startApi, type Api } from '../ops-api/api-support';
import { createTestEnv, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';

jest.setTimeout(240_000);
const run = promisify(execFile);

let t: TestEnv;
let rt: Runtime;
let host: WorkerHost;
let api: Api;
let server: http.Server;
let base: string;
let mediaDir: string;
let privateDir: string;
let privatePng: string;

/** The evidence stage hands on whatever claims the test says a page made. */
const evidence: StageProcessor = async (ctx) => ({
  output: { product: { name: 'Kettle', ...(ctx.run.input as { claims?: object }).claims } },
});
const SCRIPT = [{ text: 'Meet the kettle.', target_s: 1.5 }];

const png = (file: string, colour: string, size = '320x180') =>
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=${colour}:s=${size}`,
    '-frames:v',
    '1',
    file,
  ]);

beforeAll(async () => {
  t = await createTestEnv('local-files', { RAYVAULT_FETCH_ALLOW: '127.0.0.1' });
  // RAYVAULT_MEDIA_DIR is unset: the default <state>/media applies.
  mediaDir = path.join(t.stateDir, 'media');
  mkdirSync(mediaDir);
  privateDir = mkdtempSync(path.join(t.stateDir, '..', 'private-'));
  privatePng = path.join(privateDir, 'id_rsa.png');
  png(privatePng, 'orange');
  png(path.join(mediaDir, 'kettle.png'), 'orange');
  png(path.join(privateDir, 'huge.png'), 'orange', '9000x8');
  const orange = readFileSync(privatePng);
  server = http.createServer((req, res) => {
    if (req.url === '/kettle.png') res.writeHead(200, { 'content-type': 'image/png' }).end(orange);
    else if (req.url === '/playlist.jpg')
      res
        .writeHead(200, { 'content-type': 'image/jpeg' })
        .end(`#EXTM3U\n#EXTINF:1,\nfile://${privatePng}\n#EXT-X-ENDLIST\n`);
    else if (req.url === '/page.png') res.writeHead(200, { 'content-type': 'text/html' }).end(orange);
    else if (req.url === '/huge.png')
      res.writeHead(200, { 'content-type': 'image/png' }).end(readFileSync(path.join(privateDir, 'huge.png')));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rt = testRuntime(t, 'w-local-files');
  const config = loadMediaConfig({ ...t.env, RAYVAULT_RENDER_SIZE: '320x180' });
  host = createWorkerHost(rt, { processors: { evidence, ...createMediaProcessors(rt, config) }, concurrency: 1 });
  await host.start();
  api = await startApi('local-files', { t });
});
afterAll(async () => {
  await host?.close(1000);
  await rt?.releasers.close();
  await api?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs voice → render → qc with these claims and product; resolves with the finished run. */
async function renderWith(claims: object, product: object = {}): Promise<RunDetail> {
  const submitted = await submitRun(rt, {
    product: { name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }], ...product },
    input: { script: SCRIPT, claims },
    actor: 'cli:test',
  });
  return waitFor(
    `run ${submitted.id} done`,
    async () => {
      const r = await rt.store.getRun(submitted.id);
      if (r && ['failed', 'panic', 'aborted'].includes(r.status))
        throw new Error(`run ${r.id} ended ${r.status}: ${r.worker_last_error}`);
      return r?.status === 'done' ? r : null;
    },
    120_000,
    250,
  );
}

/** The first frame's top-left pixel: orange is the image, dark slate (0x1f2937) the title card. */
async function pictureOf(r: RunDetail): Promise<'image' | 'title card'> {
  const video = (r.output.render as RenderOutput).segments[0].path;
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      video,
      '-frames:v',
      '1',
      '-vf',
      'format=rgb24,crop=1:1:4:4',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer' },
  );
  const [red, green, blue] = stdout;
  if (red > 200 && green > 100 && blue < 80) return 'image';
  if (red < 60 && green < 70 && blue < 90) return 'title card';
  throw new Error(`neither the image nor the title card: rgb(${red}, ${green}, ${blue})`);
}
const refusals = (r: RunDetail) =>
  r.events
    .filter((e) => e.type === 'product_image_refused')
    .map((e) => e.payload as { image: string; origin: string; reason: string });

describe('a source page names a file on this machine as the product image', () => {
  it('a readable PNG outside the media directory stays out of the video: title card, and a product_image_refused event', async () => {
    const done = await renderWith({ image: privatePng });
    expect(await pictureOf(done)).toBe('title card');
    expect(refusals(done)).toEqual([
      { image: privatePng, origin: 'page', reason: expect.stringMatching(/only http\(s\) image URLs from pages/) },
    ]);
  });
});

describe('a page image URL that is not a plain image', () => {
  it('a real PNG over http is fetched through the guard and shown (the control case)', async () => {
    const done = await renderWith({ image: `${base}/kettle.png` });
    expect(await pictureOf(done)).toBe('image');
    expect(refusals(done)).toEqual([]);
  });

  it('an HLS playlist served as image/jpeg (it would make ffmpeg open a local file) is refused by its first bytes', async () => {
    const done = await renderWith({ image: `${base}/playlist.jpg` });
    expect(await pictureOf(done)).toBe('title card');
    expect(refusals(done)[0].reason).toMatch(/not a PNG, JPEG, WebP or GIF image/);
  });

  it('PNG bytes sent as text/html are refused for their content type', async () => {
    const done = await renderWith({ image: `${base}/page.png` });
    expect(refusals(done)[0].reason).toMatch(/sent text\/html, not image/);
  });

  it('a 9000 px wide picture (a decompression bomb in small) is refused before ffmpeg scales it', async () => {
    const done = await renderWith({ image: `${base}/huge.png` });
    expect(refusals(done)[0].reason).toMatch(/9000x8 picture: more than 8192 px/);
  });

  it('a loopback address RAYVAULT_FETCH_ALLOW does not list ([::1]) is refused by the guard', async () => {
    const done = await renderWith({ image: `http://[::1]:${new URL(base).port}/kettle.png` });
    expect(refusals(done)[0].reason).toMatch(/refused/);
  });
});

describe('a local image the CLI accepted is swapped afterwards', () => {
  it('the CLI records the real path inside the media directory, and the render shows it', async () => {
    const file = path.join(privateDir, 'product.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Kettle',
        image: path.join(mediaDir, '..', 'media', 'kettle.png'),
        sources: [{ url: 'https://shop.example/p', tier: 5 }],
      }),
    );
    const product = await loadProductFile(file, { mediaDir, maxBytes: 5 << 20 });
    expect(product.image).toBe(path.join(mediaDir, 'kettle.png'));
    expect(await pictureOf(await renderWith({}, { image: product.image }))).toBe('image');
  });

  it('a symlink to a file outside the media directory put in its place is refused at render time', async () => {
    const swapped = path.join(mediaDir, 'swapped.png');
    png(swapped, 'orange');
    const product = await loadProductFile(writeProduct({ image: swapped }), { mediaDir, maxBytes: 5 << 20 });
    rmSync(swapped);
    symlinkSync(privatePng, swapped);
    const done = await renderWith({}, { image: product.image });
    expect(await pictureOf(done)).toBe('title card');
    expect(refusals(done)).toEqual([
      { image: swapped, origin: 'product', reason: expect.stringMatching(/outside the media directory/) },
    ]);
  });
});

function writeProduct(extra: object): string {
  const file = path.join(mkdtempSync(path.join(privateDir, 'p-')), 'product.json');
  writeFileSync(
    file,
    JSON.stringify({ name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }], ...extra }),
  );
  return file;
}

describe('a CLI product file names a local image outside the media directory', () => {
  const limits = () => ({ mediaDir, maxBytes: 5 << 20 });

  it('an absolute path, a ../ path and a symlink out of the media directory are refused, each with the next step', async () => {
    await expect(loadProductFile(writeProduct({ image: privatePng }), limits())).rejects.toThrow(
      /image: image .* is outside the media directory .*: copy it into RAYVAULT_MEDIA_DIR/,
    );
    await expect(
      loadProductFile(
        writeProduct({ image: path.join(mediaDir, '..', '..', path.basename(privateDir), 'id_rsa.png') }),
        limits(),
      ),
    ).rejects.toThrow(/outside the media directory/);
    symlinkSync(privatePng, path.join(mediaDir, 'link.png'));
    await expect(loadProductFile(writeProduct({ image: path.join(mediaDir, 'link.png') }), limits())).rejects.toThrow(
      /outside the media directory/,
    );
  });

  it('`rayvault runs create --product` refuses it as bad usage (exit 2) and creates no run', async () => {
    const file = writeProduct({ image: '/etc/passwd' });
    const result = await run(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'cli/src/main.ts'), 'runs', 'create', '--product', file],
      { cwd: ROOT, env: { ...process.env, ...t.env } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/image: image \/etc\/passwd is outside the media directory/);
  });

  it('a file: or data: URL is refused by the product schema', async () => {
    await expect(loadProductFile(writeProduct({ image: 'file:///etc/passwd' }), limits())).rejects.toThrow(
      /image must be an http\(s\) URL/,
    );
  });
});

describe('an API caller names a local file', () => {
  const post = (product: object) =>
    api.call('POST', '/api/runs', {
      token: api.tokens.operator,
      body: { product: { name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }], ...product } },
    });

  it('product.image "/etc/passwd", a path inside the media directory, or "file:///etc/passwd" is 422 and no run is created', async () => {
    const before = (await rt.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n;
    for (const image of ['/etc/passwd', path.join(mediaDir, 'kettle.png')]) {
      expect(await post({ image })).toMatchObject({
        status: 422,
        body: {
          error: {
            code: 'invalid_input',
            message: expect.stringMatching(/product.image submitted over the API must be an http\(s\) URL/),
          },
        },
      });
    }
    expect(await post({ image: 'file:///etc/passwd' })).toMatchObject({
      status: 422,
      body: { error: { message: expect.stringMatching(/image must be an http\(s\) URL/) } },
    });
    expect(await post({ sources: [{ file: '/etc/passwd', tier: 5 }] })).toMatchObject({
      status: 422,
      body: { error: { message: expect.stringMatching(/file sources are for the CLI/) } },
    });
    expect((await rt.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(before);
  });
});

describe('a schedule file names a product with a local image', () => {
  it('the scheduler refuses to start with it, naming the entry', () => {
    const dir = mkdtempSync(path.join(privateDir, 's-'));
    writeFileSync(
      path.join(dir, 'kettle.json'),
      JSON.stringify({
        name: 'Kettle',
        image: path.join(mediaDir, 'kettle.png'),
        sources: [{ url: 'https://shop.example/p', tier: 5 }],
      }),
    );
    writeFileSync(
      path.join(dir, 'schedule.json'),
      JSON.stringify([{ name: 'nightly', every: 60000, product: 'kettle.json' }]),
    );
    expect(() => readScheduleFile(path.join(dir, 'schedule.json'))).toThrow(ConfigError);
    expect(() => readScheduleFile(path.join(dir, 'schedule.json'))).toThrow(
      /nightly: .*kettle.json names the local image/,
    );
  });

  it('the intake, which loads the product without a media directory, refuses it too (the file may change after start)', async () => {
    await expect(loadProductFile(writeProduct({ image: path.join(mediaDir, 'kettle.png') }))).rejects.toThrow(
      /only a product given to the rayvault CLI may use one/,
    );
  });
});

describe('a product file names a source that is not a bounded regular file', () => {
  it('a device (/dev/zero), a directory and a file over the cap are refused when the product is loaded', async () => {
    const big = path.join(privateDir, 'big.html');
    writeFileSync(big, Buffer.alloc(2048, 'a'));
    const file = writeProduct({
      sources: [
        { file: '/dev/zero', tier: 5 },
        { file: privateDir, tier: 4 },
        { file: big, tier: 3 },
      ],
    });
    const err = await loadProductFile(file, { maxBytes: 1024 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/sources\.0\.file: source file \/dev\/zero is not a regular file/);
    expect((err as Error).message).toMatch(/sources\.1\.file: source file .* is not a regular file/);
    expect((err as Error).message).toMatch(
      /sources\.2\.file: source file .*big\.html is 2048 bytes, over the 1024-byte cap/,
    );
  });

  it('the evidence worker reading a FIFO or an oversized file fails that source at once instead of blocking or filling memory', async () => {
    const fifo = path.join(privateDir, 'pipe.html');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(privateDir, 'big-page.html');
    writeFileSync(big, Buffer.alloc(4096, 'a'));
    const reader = createSourceReader({
      breakers: createBreakers({
        redis: rt.redis,
        prefix: t.prefix,
        log: rt.log,
        cooldownMs: 1000,
        volumeThreshold: 5,
      }),
      cache: createContentCache(path.join(privateDir, 'cache'), 1000),
      timeoutMs: 1000,
      retries: 0,
      retryBaseMs: 10,
      maxBytes: 1024,
      allow: { entries: [] },
    });
    const read = (file: string) =>
      reader
        .read({ file, tier: 5 }, { signal: new AbortController().signal, forceRefetch: false, log: rt.log, label: 'x' })
        .catch((e: unknown) => e);
    expect(await read(fifo)).toMatchObject({
      reason: 'file_unreadable',
      message: expect.stringMatching(/is not a regular file/),
    });
    expect(await read(big)).toMatchObject({
      reason: 'too_large',
      message: expect.stringMatching(/4096 bytes, over RAYVAULT_FETCH_MAX_BYTES/),
    });
  });
});
