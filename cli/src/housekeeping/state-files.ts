import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { Config, FileEntry, MediaStore } from '@rayvault/shared';

/** What the housekeeping verbs need: the media store (the video index), the state dir and the config. */
export type HousekeepingDeps = { media: MediaStore; stateDir: string; config: Config };

/** A path housekeeping left alone, and why (a symlink, or a place outside the state dir). */
export type SkippedEntry = { path: string; reason: string };

/**
 * Every regular file below `dir` (none when it does not exist). Symbolic links
 * are never followed, neither to files nor to directories: they go to
 * `skipped`, so a link planted in the state dir cannot lead a clean to files
 * elsewhere. `dir` itself being a link is skipped the same way.
 */
export function listFiles(dir: string, now = Date.now(), skipped: SkippedEntry[] = []): FileEntry[] {
  const top = lstatSync(dir, { throwIfNoEntry: false });
  if (!top) return [];
  if (!top.isDirectory()) {
    skipped.push({ path: dir, reason: top.isSymbolicLink() ? linkReason(dir) : 'not a directory' });
    return [];
  }
  const out: FileEntry[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, e.name);
      if (e.isSymbolicLink()) skipped.push({ path: file, reason: linkReason(file) });
      else if (e.isDirectory()) walk(file);
      else if (e.isFile()) {
        const st = lstatSync(file, { throwIfNoEntry: false });
        if (st?.isFile())
          out.push({
            path: file,
            name: e.name,
            bytes: st.size,
            mtime_ms: st.mtimeMs,
            age_s: Math.max(0, Math.round((now - st.mtimeMs) / 1000)),
          });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function linkReason(p: string): string {
  let target = '?';
  try {
    target = readlinkSync(p);
  } catch {
    /* gone meanwhile */
  }
  return `symbolic link to ${target}: links are never followed; remove the link by hand if it is yours`;
}

/**
 * Decides whether housekeeping may move or delete a path: it must not be a
 * symbolic link (a link would be acted on in place of what it names), and its
 * directory must resolve inside the real state dir (so a linked `state/final`
 * or `state/quarantine` cannot send a delete elsewhere). The state dir itself
 * may be a link (an operator's choice of disk); only what lies below it counts.
 * Checked just before each action; a swap in the moment between check and
 * action needs write access to the state dir itself.
 */
export function createStateGuard(stateDir: string) {
  const root = path.resolve(stateDir);
  const realRoot = (() => {
    try {
      return realpathSync(root);
    } catch {
      return root;
    }
  })();
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + path.sep);
  const outsideReason = (p: string, real: string) =>
    `${p} resolves to ${real}, outside the state dir ${realRoot}: refused; move the files into the state dir or remove the link`;
  return {
    /** Why `p` must not be moved or deleted, or null when it may. */
    refuse(p: string): string | null {
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) return 'gone before it was acted on';
      if (st.isSymbolicLink()) return linkReason(p);
      let parent: string;
      try {
        parent = realpathSync(path.dirname(p));
      } catch (err) {
        return `its directory cannot be resolved (${(err as NodeJS.ErrnoException).code})`;
      }
      return inside(parent) ? null : outsideReason(path.dirname(p), parent);
    },
    /**
     * Why files must not be moved into directory `dir` (a link, or outside the state dir), or null; a missing `dir` is
     * fine.
     */
    refuseTarget(dir: string): string | null {
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) return linkReason(dir);
      if (st && !st.isDirectory()) return `${dir} is not a directory`;
      const at = st ? dir : path.dirname(dir);
      let real: string;
      try {
        real = realpathSync(at);
      } catch (err) {
        return `${at} cannot be resolved (${(err as NodeJS.ErrnoException).code})`;
      }
      return inside(real) ? null : outsideReason(at, real);
    },
  };
}
export type StateGuard = ReturnType<typeof createStateGuard>;

/** True while a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const HOUR_MS = 3_600_000;
