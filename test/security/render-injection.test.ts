// Product titles come from remote pages (JSON-LD, og:title). They reach two
// interpreters in the render stage: ffmpeg's drawtext, which expands %{…}
// sequences, and the studio's page URL, where a title placed in a path could
// walk to another page or another host. Attacks tried against the real ffmpeg
// and the URL the browser provider would open.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, InvalidInputError } from '@rayvault/shared';
import { createLocalProvider, synthesize } from '@rayvault/render-worker';
import { studioPageUrl } from '../../services/render-worker/src/render/browser';

jest.setTimeout(120_000);
const run = promisify(execFile);

let dir: string;
let audio: string;
let n = 0;
const provider = createLocalProvider({ width: 320, height: 180 });

beforeAll(async () => {
  dir = mkdtempSync(path.join(process.env.RV_TEST_ROOT ?? os.tmpdir(), 'render-injection-'));
  audio = (
    await synthesize(path.join(dir, 'voice'), {
      text: 'One, two, three, four, five, six, seven, eight.',
      rate: 175,
      voice: 'en',
    })
  ).path;
});

/** The title card of a segment rendered with this title, as 8-bit grey pixels at `atS` seconds. */
async function cardAt(title: string, ...atS: number[]): Promise<Buffer[]> {
  n += 1;
  const result = await provider.render({
    runId: '00000000-0000-4000-8000-0000000000aa',
    segment: n,
    title,
    audioPath: audio,
    stagingDir: path.join(dir, `seg-${n}`),
    signal: new AbortController().signal,
  });
  return Promise.all(
    atS.map(
      async (t) =>
        (
          await run(
            'ffmpeg',
            [
              '-v',
              'error',
              '-ss',
              String(t),
              '-i',
              result.path,
              '-frames:v',
              '1',
              '-f',
              'rawvideo',
              '-pix_fmt',
              'gray',
              '-',
            ],
            { encoding: 'buffer', maxBuffer: 1 << 20 },
          )
        ).stdout,
    ),
  );
}

/** Pixels that differ by more than a third of the grey scale: glyphs, not encoder noise. */
const changedPixels = (a: Buffer, b: Buffer) => a.reduce((count, v, i) => count + (Math.abs(v - b[i]) > 85 ? 1 : 0), 0);

describe('a product title carrying ffmpeg drawtext expansions', () => {
  it('%{pts} is drawn as text: the card is the same at 0.2 s and 1.6 s (expanded, the timestamp would change it)', async () => {
    const [early, late] = await cardAt('Kettle %{pts} %{n}', 0.2, 1.6);
    expect(early.length).toBe(320 * 180);
    expect(changedPixels(early, late)).toBe(0);
  });

  it('%{eif:1+1:d} is drawn as its characters, not as the 2 it evaluates to', async () => {
    const [expression] = await cardAt('%{eif:1+1:d}', 0.5);
    const [two] = await cardAt('2', 0.5);
    expect(changedPixels(expression, two)).toBeGreaterThan(100);
  });

  it('quotes, colons, backslashes and an unterminated %{ render without error and leave text on the card', async () => {
    const [tricky] = await cardAt(`It's a "kettle": C:\\temp\\ 100% %{e:1/0 '\\'' ;[out]`, 0.5);
    const [blank] = await cardAt(' ', 0.5);
    expect(changedPixels(tricky, blank)).toBeGreaterThan(100);
  });
});

describe('a product title placed in the studio page path of the step file', () => {
  const studio = 'http://127.0.0.1:9/studio/';
  const vars = (title: string) => ({ title, runId: '00000000-0000-4000-8000-0000000000aa', segment: '1' });

  it('"../../admin" stays one segment under the studio path', () => {
    expect(studioPageUrl('render/{title}', vars('../../admin'), studio)).toBe(
      'http://127.0.0.1:9/studio/render/..%2F..%2Fadmin',
    );
  });

  it('"//evil.example/x" and "https://evil.example/" do not change the host', () => {
    expect(new URL(studioPageUrl('{title}', vars('//evil.example/x'), studio)).host).toBe('127.0.0.1:9');
    expect(new URL(studioPageUrl('{title}', vars('https://evil.example/'), studio)).host).toBe('127.0.0.1:9');
  });

  it('"?" "&" "#" in a title do not add query parameters or a fragment', () => {
    const url = new URL(studioPageUrl('render?name={title}&run={runId}', vars('x&admin=1#frag'), studio));
    expect(url.searchParams.get('name')).toBe('x&admin=1#frag');
    expect([...url.searchParams.keys()]).toEqual(['name', 'run']);
    expect(url.hash).toBe('');
  });

  it('a title that is a whole dot segment ("..") is refused with the next step', () => {
    expect(() => studioPageUrl('render/{title}/edit', vars('..'), studio)).toThrow(InvalidInputError);
    expect(() => studioPageUrl('render/{title}/edit', vars('..'), studio)).toThrow(/rename the product/);
  });

  it('a step file whose open path itself leaves the studio origin is a configuration error', () => {
    expect(() => studioPageUrl('https://elsewhere.example/{title}', vars('x'), studio)).toThrow(ConfigError);
  });
});
