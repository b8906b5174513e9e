import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

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
