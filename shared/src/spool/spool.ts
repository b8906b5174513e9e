import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, isPanic } from '../errors/errors';
import type { Rpc } from '../store/types';

/**
 * When the database cannot be reached, writes are appended here, one JSON line
 * per record, fsynced, with a checksum. Replay applies them in order; every
 * spooled SQL function is idempotent by its event id, so replaying twice (or
 * a crash mid-replay) leaves the same database.
 */
export type SpoolRecord = { id: string; fn: string; args: Record<string, unknown>; at: string; crc: string };

const checksum = (r: Omit<SpoolRecord, 'crc'>) =>
  createHash('sha256')
    .update(JSON.stringify([r.id, r.fn, r.args, r.at]))
    .digest('hex')
    .slice(0, 16);

/** `duplicates`: records the database had already (another replayer, or an earlier replay cut short). */
export type ReplayReport = {
  files: number;
  applied: number;
  duplicates: number;
  rejected: number;
  quarantined: number;
  remaining: number;
};

export function createSpool(dir: string, owner: string, log: Logger, onAppend: () => void = () => {}) {
  mkdirSync(dir, { recursive: true });
  // One file per process and generation: a torn tail left by a crash is never
  // appended to, and a file being replayed is never written again.
  let file = '';
  let fd: number | null = null;
  let generation = 0;
  let appends = 0;

  return {
    /** Records this process has appended so far (a replay that empties the spool covers all of them). */
    get appends() {
      return appends;
    },
    append(fn: string, args: Record<string, unknown>): SpoolRecord {
      const base = { id: randomUUID(), fn, args, at: new Date().toISOString() };
      const rec: SpoolRecord = { ...base, crc: checksum(base) };
      if (fd === null) {
        file = path.join(dir, `${owner}.${process.pid}.${Date.now()}-${generation++}.jsonl`);
        fd = openSync(file, 'a');
      }
      const bytes = Buffer.from(JSON.stringify(rec) + '\n');
      try {
        // writeSync may write less than asked (disk full, file size limit): finish the record or fail.
        for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
        fsyncSync(fd);
      } catch (err) {
        // The file may now end in a torn record: never append after it; the next record starts a new file.
        closeSync(fd);
        fd = null;
        throw err;
      }
      appends++;
      log.warn({ fn, spool: file }, 'database unreachable: write spooled');
      onAppend();
      return rec;
    },
    /** Close the current file so a replay can take it; the next append starts a new one. */
    rotate() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
export type Spool = ReturnType<typeof createSpool>;

/** Records waiting in the spool (all owners). */
export function spoolDepth(dir: string): number {
  if (!existsSync(dir)) return 0;
  return spoolFiles(dir).reduce(
    (n, f) => n + readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length,
    0,
  );
}

function spoolFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl') || f.endsWith('.replaying'))
    .sort();
}

function parseLine(line: string): SpoolRecord | null {
  try {
    const r = JSON.parse(line) as SpoolRecord;
    return r && typeof r.fn === 'string' && r.crc === checksum(r) ? r : null;
  } catch {
    return null;
  }
}

/**
 * Takes spool file `name` for replay and reads it, or null when it is not ours to take (a live writer's, or gone).
 */
function claimFile(dir: string, name: string): { work: string; text: string } | null {
  let work = path.join(dir, name);
  if (name.endsWith('.jsonl')) {
    // Claim the file atomically; appends by a live process continue in its fd, so only claim files of dead or
    // finished writers.
    if (isLiveWriter(name)) return null;
    const claimed = work.replace(/\.jsonl$/, '.replaying');
    try {
      renameSync(work, claimed);
    } catch {
      return null;
    }
    work = claimed;
  }
  // A `.replaying` file left by a crashed replayer may be taken by two replays at once (a worker start and
  // `rayvault replay-spool`): both apply it (idempotent), and the one that finds it gone moves on.
  try {
    return { work, text: readFileSync(work, 'utf8') };
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

/**
 * Replay every spool file in `dir` in order. A record the database refuses
 * (fenced, illegal) is moved to `rejected/`; a torn or corrupt line to
 * `quarantine/`. Stops, keeping the rest, when the database is unreachable again.
 */
export async function replaySpool(
  dir: string,
  rpc: Rpc,
  log: Logger,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<ReplayReport> {
  const report: ReplayReport = { files: 0, applied: 0, duplicates: 0, rejected: 0, quarantined: 0, remaining: 0 };
  if (!existsSync(dir)) return report;
  for (const name of spoolFiles(dir)) {
    const claimed = claimFile(dir, name);
    if (!claimed) continue;
    const { work, text } = claimed;
    report.files++;
    const lines = text.split('\n').filter(Boolean);
    let i = 0;
    for (; i < lines.length; i++) {
      const rec = parseLine(lines[i]);
      if (!rec) {
        sideFile(dir, 'quarantine', name, lines[i]);
        report.quarantined++;
        log.error({ file: name, line: i + 1 }, 'spool record failed its checksum: quarantined');
        continue;
      }
      try {
        const result = await rpc(rec.fn, rec.args);
        if ((result as { duplicate?: boolean } | null)?.duplicate === true) report.duplicates++;
        else report.applied++;
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) break;
        if (isPanic(err)) throw err;
        sideFile(dir, 'rejected', name, JSON.stringify({ ...rec, error: (err as Error).message }));
        report.rejected++;
        log.warn({ err, fn: rec.fn }, 'spooled write refused by the database: moved to rejected/');
      }
      onProgress(report.applied + report.duplicates + report.rejected + report.quarantined, lines.length);
    }
    if (i < lines.length) {
      report.remaining += lines.length - i;
      return report;
    }
    try {
      unlinkSync(work);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  return report;
}

const isGone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

// A file replayed again (after a crash mid-replay, or by two replayers) must not list the same record twice.
function sideFile(dir: string, kind: string, name: string, line: string) {
  mkdirSync(path.join(dir, kind), { recursive: true });
  const file = path.join(dir, kind, `${name.replace(/\.(jsonl|replaying)$/, '')}.${kind}`);
  if (existsSync(file) && readFileSync(file, 'utf8').split('\n').includes(line)) return;
  appendFileSync(file, line + '\n');
}

// Spool file names carry the writer's pid; a file of a running process other than us is still being written.
function isLiveWriter(name: string): boolean {
  const pid = Number(name.split('.').at(-3));
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
