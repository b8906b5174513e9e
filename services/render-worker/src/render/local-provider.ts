import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mediaDuration } from '../media/probe';
import { runTool } from '../media/run-tool';
import type { RenderProvider, RenderRequest } from './provider';

export type LocalProviderOptions = { width: number; height: number };

const FPS = 25;
const CARD_COLOUR = '0x1f2937';

let drawtext: Promise<boolean> | undefined;
/** Some ffmpeg builds lack freetype; they get a plain colour card instead of a titled one. */
function hasDrawtext(): Promise<boolean> {
  drawtext ??= runTool('ffmpeg', ['-hide_banner', '-filters']).then(
    (out) => /\sdrawtext\s/.test(out),
    () => false,
  );
  return drawtext;
}

/** A value inside a single-quoted ffmpeg filter option. */
const quoteFilterValue = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Breaks a title into lines that fit the card (drawtext does not wrap). */
function wrap(text: string, width = 32): string {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + word.length < width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.slice(0, 4).join('\n');
}

async function pictureArgs(
  req: RenderRequest,
  o: LocalProviderOptions,
  partDir: string,
): Promise<{ input: string[]; filter: string }> {
  const { width: w, height: h } = o;
  if (req.imagePath) {
    return {
      input: ['-loop', '1', '-framerate', String(FPS), '-i', req.imagePath],
      filter: `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p`,
    };
  }
  const input = ['-f', 'lavfi', '-i', `color=c=${CARD_COLOUR}:s=${w}x${h}:r=${FPS}`];
  if (!(await hasDrawtext())) return { input, filter: 'format=yuv420p' };
  // The title comes from product pages: it goes through a file (no filter-graph escaping of page
  // text) and with expansion off, so `%{pts}`, `%{eif:…}` or `%{metadata}` in a title is shown, not evaluated.
  const titleFile = path.join(partDir, 'title.txt');
  writeFileSync(titleFile, wrap(req.title));
  const size = Math.round(h / 12);
  return {
    input,
    filter: `drawtext=textfile=${quoteFilterValue(titleFile)}:expansion=none:fontcolor=white:fontsize=${size}:line_spacing=${Math.round(size / 3)}:x=(w-text_w)/2:y=(h-text_h)/2,format=yuv420p`,
  };
}

/**
 * The offline provider: a still picture (the product image, or a title card) held for the
 * length of the narration, H.264 yuv420p + AAC in an MP4 with the index up front
 * (faststart). Bit-exact flags make the same input give the same bytes, hence the same sha8.
 */
export function createLocalProvider(options: LocalProviderOptions): RenderProvider {
  return {
    name: 'local',
    async render(req) {
      req.signal.throwIfAborted();
      mkdirSync(req.stagingDir, { recursive: true });
      const duration = await mediaDuration(req.audioPath, req.signal);
      const base = path.join(req.stagingDir, `seg-${String(req.segment).padStart(2, '0')}`);
      const pic = await pictureArgs(req, options, req.stagingDir);
      await runTool('ffmpeg', encodeArgs(pic, req.audioPath, duration, `${base}.part`), req.signal);
      renameSync(`${base}.part`, `${base}.mp4`);
      return { path: `${base}.mp4`, credits: 0, provider: 'local' };
    },
  };
}

/** ffmpeg's arguments: the picture held over the narration, bit-exact so the same input gives the same bytes. */
function encodeArgs(pic: { input: string[]; filter: string }, audioPath: string, duration: number, out: string) {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    ...pic.input,
    '-i',
    audioPath,
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-vf',
    pic.filter,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'stillimage',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(FPS),
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-t',
    duration.toFixed(3),
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
    '-flags:a',
    '+bitexact',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    out,
  ];
}
