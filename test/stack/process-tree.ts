// Follows every process a command starts through /proc, also those that
// leave its process group (the stack detaches its servers), as
// bench/startup.ts does: a watcher polls, and `left()` names the survivors.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Every process's parent pid, from /proc. */
export function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      m.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  return m;
}

const alive = (pid: number) => {
  try {
    // A zombie (state Z) has exited; only its parent has not reaped it yet.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
};

export const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
};

export function watchTree(rootPid: number, everyMs = 50) {
  const seen = new Map<number, string>([[rootPid, cmdline(rootPid)]]);
  const track = () => {
    const m = parents();
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, pp] of m)
        if (!seen.has(pid) && seen.has(pp)) {
          seen.set(pid, cmdline(pid));
          grew = true;
        }
    }
    // A child first seen between fork and exec still shows its parent's command: keep the latest one.
    for (const pid of seen.keys()) {
      const now = m.has(pid) ? cmdline(pid) : '';
      if (now) seen.set(pid, now);
    }
  };
  track();
  const timer = setInterval(track, everyMs);
  return {
    seen,
    track,
    stop: () => clearInterval(timer),
    /** Processes seen in the tree that still run, as "pid command". */
    left: () => [...seen.keys()].filter(alive).map((p) => `${p} ${cmdline(p) || seen.get(p)}`),
    kill: () => {
      for (const p of seen.keys())
        if (alive(p))
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
    },
  };
}

/** Every process below `pid`, from the process table. */
export function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const found: number[] = [];
  const walk = (p: number) =>
    rows
      .filter(([, pp]) => pp === p)
      .forEach(([c]) => {
        found.push(c);
        walk(c);
      });
  walk(pid);
  return found;
}
