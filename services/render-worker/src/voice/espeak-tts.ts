import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Text } from '../media/file-hash';
import { runTool } from '../media/run-tool';

export type Speech = { text: string; rate: number; voice: string };

/** espeak-ng accepts 80–450 words per minute. */
export const RATE_RANGE = { min: 80, max: 450 } as const;

/** Where a synthesis lives: named by the hash of what was said and how, so the same input is found again. */
export function speechCachePath(cacheDir: string, s: Speech): string {
  return path.join(cacheDir, `${sha256Text(s.text, String(s.rate), s.voice)}.wav`);
}

/**
 * Synthesizes `s` to a WAV with espeak-ng, or returns the cached file of an identical
 * earlier synthesis. Written to a temp name and renamed, so a crash never leaves half a file.
 */
export async function synthesize(
  cacheDir: string,
  s: Speech,
  signal?: AbortSignal,
): Promise<{ path: string; cached: boolean }> {
  const target = speechCachePath(cacheDir, s);
  if (existsSync(target)) return { path: target, cached: true };
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${target}.${process.pid}.${Date.now()}`;
  // The text goes through a file, not argv: a line starting with '-' must not read as an option.
  writeFileSync(`${tmp}.txt`, s.text);
  try {
    await runTool('espeak-ng', ['-v', s.voice, '-s', String(s.rate), '-w', `${tmp}.wav`, '-f', `${tmp}.txt`], signal);
    renameSync(`${tmp}.wav`, target);
  } finally {
    rmSync(`${tmp}.txt`, { force: true });
    rmSync(`${tmp}.wav`, { force: true });
  }
  return { path: target, cached: false };
}
