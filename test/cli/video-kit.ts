// Real (tiny) MP4 files for the video index tests: ffprobe must accept what a
// healthy index holds, so index refresh and maintenance pass only on real videos.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { FinalFile } from './cli-kit';

/** A 0.2 s H.264/AAC clip whose bytes differ per `seed` (it is written into the container's metadata). */
export function writeVideo(file: string, seed: string): FinalFile {
  mkdirSync(path.dirname(file), { recursive: true });
  const part = `${file}.part.mp4`;
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'color=c=blue:s=32x32:d=0.2:r=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=0.2',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-movflags',
    '+faststart',
    '-metadata',
    `comment=${seed}`,
    part,
  ]);
  renameSync(part, file);
  const bytes = readFileSync(file);
  return { path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** A video named as the render stage names finals: `<run8>-segNN-<sha8>.mp4`. */
export function writeVideoFinal(stateDir: string, runId: string, segment: number, seed: string): FinalFile {
  const v = writeVideo(path.join(stateDir, 'final', `.${runId}-${segment}-${seed.replace(/\W/g, '_')}.tmp.mp4`), seed);
  const file = path.join(
    stateDir,
    'final',
    `${runId.slice(0, 8)}-seg${String(segment).padStart(2, '0')}-${v.sha256.slice(0, 8)}.mp4`,
  );
  renameSync(v.path, file);
  return { ...v, path: file };
}

/** Changes one byte in the middle of a file: same size, other content, still a readable video. */
export function flipMiddleByte(file: string, size: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    const at = Math.floor(size * 0.75);
    readSync(fd, b, 0, 1, at);
    writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
