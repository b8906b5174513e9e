// CPU time of process trees from /proc (user + system, children included
// while they run, and after they exit through their parent's count of waited-
// for children): where a transition's cost goes, process by process. Without
// the latter a Postgres backend whose connection closes between two readings
// takes its CPU time out of the tree, and a delta can come out negative.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid: number): { ppid: number; ms: number } | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime + stime, then cutime + cstime (fields 14-17 of proc(5)).
    return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return null;
  }
}

/** CPU ms one process used so far (all its threads). */
export function cpuOfPid(pid: number): number {
  return stat(pid)?.ms ?? NaN;
}

/** CPU ms used so far by each root's process tree. */
export function treeCpuMs(roots: Record<string, number[]>): Record<string, number> {
  const all = new Map<number, { ppid: number; ms: number }>();
  for (const d of readdirSync('/proc')) {
    const s = /^\d+$/.test(d) ? stat(Number(d)) : null;
    if (s) all.set(Number(d), s);
  }
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(roots)) {
    const tree = new Set(pids);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, s] of all)
        if (!tree.has(pid) && tree.has(s.ppid)) {
          tree.add(pid);
          grew = true;
        }
    }
    out[name] = [...tree].reduce((n, pid) => n + (all.get(pid)?.ms ?? 0), 0);
  }
  return out;
}

export function cpuDelta(a: Record<string, number>, b: Record<string, number>, per: number): Record<string, number> {
  return Object.fromEntries(Object.keys(a).map((k) => [k, Math.round(((b[k] - a[k]) / per) * 100) / 100]));
}

/**
 * Context switches on the whole machine so far (/proc/stat): each time a process waits for an
 * answer and is woken again, one on each side. Steadier than CPU time on a shared VM, and the
 * hops a transition takes are what its latency is made of.
 */
export function contextSwitches(): number {
  return Number(/^ctxt (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
}
