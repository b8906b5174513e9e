import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/** `state/final/<run8>-segNN-<sha8>.mp4`: the name carries the first 8 hex of the file's SHA-256. */
export function finalName(runId: string, segment: number, sha256: string): string {
  return `${runId.slice(0, 8)}-seg${String(segment).padStart(2, '0')}-${sha256.slice(0, 8)}.mp4`;
}

/**
 * Moves an accepted export from staging to the final dir (a rename on the same disk, so
 * atomic). A file already there under the same sha8 name has the same bytes: the staged
 * copy is dropped.
 */
export function promoteToFinal(staged: string, finalDir: string, name: string): string {
  mkdirSync(finalDir, { recursive: true });
  const target = path.join(finalDir, name);
  if (existsSync(target)) rmSync(staged, { force: true });
  else renameSync(staged, target);
  return target;
}
