import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  pendingMigrations,
  spoolDepth,
  stateLayout,
  whenRedisReady,
  workerStaleMs,
  type CheckpointFile,
  type Runtime,
} from '@rayvault/shared';
import { refreshIndex } from './index-refresh';
import { findOrphans } from './orphans';
import { inspectPidFiles, workersAliveElsewhere } from './pid-files';

export type CheckLevel = 'PASS' | 'WARN' | 'FAIL';
export type BaptismCheck = { name: string; level: CheckLevel; message: string; details?: unknown };
export type BaptismCheckName = 'infra' | 'migrations' | 'checkpoints' | 'spool' | 'pids' | 'index' | 'skip' | 'orphans';
type Check = (rt: Runtime) => Promise<BaptismCheck>;

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);

// Infra and migrations stay on the pool: they test the connection and the schema themselves, not a store.
const checkInfra: Check = async (rt) => {
  const probe = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await withTimeout(fn(), 3000, name);
      return { name, ok: true, text: `${name} ok (${Math.round(performance.now() - t0)} ms)` };
    } catch (err) {
      return { name, ok: false, text: `${name} DOWN: ${(err as Error).message}` };
    }
  };
  const results = [
    await probe('redis', () => whenRedisReady(rt.fastRedis).then(() => rt.fastRedis.ping())),
    await probe('postgres', () => rt.pool.query('SELECT 1')),
  ];
  return {
    name: 'infra',
    level: results.every((r) => r.ok) ? 'PASS' : 'FAIL',
    message: results.map((r) => r.text).join(', '),
    details: Object.fromEntries(results.map((r) => [r.name, r.ok])),
  };
};

const checkMigrations: Check = async (rt) => {
  const pending = await pendingMigrations(rt.pool);
  return pending.length
    ? {
        name: 'migrations',
        level: 'FAIL',
        message: `pending: ${pending.map((m) => m.name).join(', ')} (run rayvault migrate)`,
      }
    : { name: 'migrations', level: 'PASS', message: 'database schema is current' };
};

const checkIndex: Check = async (rt) => {
  const r = await refreshIndex(rt, { dryRun: true });
  const counts = {
    checked: r.checked,
    ok: r.ok,
    missing: r.missing.length,
    mismatched: r.mismatched.length,
    refused: r.refused.length,
    addable: r.added.length,
  };
  const message =
    `${r.checked} indexed, ${r.ok} ok, ${counts.missing} missing, ${counts.mismatched} mismatched, ${counts.refused} refused` +
    (r.added.length ? `, ${r.added.length} to add (rayvault index refresh)` : '');
  return {
    name: 'index',
    level: r.consistent ? 'PASS' : 'FAIL',
    message: r.consistent ? message : `${message}: see rayvault index refresh`,
    details: { counts, problems: [...r.missing, ...r.mismatched, ...r.refused] },
  };
};

/** A finished stage is never claimed again, and a done run has every stage done (from run_events and run_stages). */
const checkSkip: Check = async (rt) => {
  const { reruns, unfinished, done: n } = await rt.media.housekeeping.skipCheck();
  const problems = [
    ...reruns.map((r) => `run ${r.run_id}: ${r.stage} claimed ${r.claims} time(s) after it finished`),
    ...unfinished.map((id) => `run ${id} is done with a stage not done`),
  ];
  return problems.length
    ? { name: 'skip', level: 'FAIL', message: problems.slice(0, 5).join('; '), details: { problems } }
    : { name: 'skip', level: 'PASS', message: `${n} done run(s): no finished stage was run again` };
};

const checkOrphans: Check = async (rt) => {
  const o = await findOrphans(rt);
  if (!o.orphans.length) return { name: 'orphans', level: 'PASS', message: `${o.files} final file(s), all indexed` };
  const oldestH = (o.orphans[0].age_s / 3600).toFixed(1);
  return {
    name: 'orphans',
    level: 'WARN',
    message: `${o.orphans.length} orphan(s) in ${o.final_dir}, oldest ${oldestH} h (make clean-zombies)`,
    details: o.orphans.map((f) => f.path),
  };
};

const checkSpool: Check = async (rt) => {
  const depth = spoolDepth(rt.spoolDir);
  return depth
    ? {
        name: 'spool',
        level: 'FAIL',
        message: `${depth} spooled write(s) not in the database yet (rayvault replay-spool)`,
      }
    : { name: 'spool', level: 'PASS', message: 'spool drained' };
};

const checkPids: Check = async (rt) => {
  const files = inspectPidFiles(
    stateLayout(rt.stateDir).pids,
    await workersAliveElsewhere(rt.media, workerStaleMs(rt.config)),
  );
  const stale = files.filter((f) => f.state === 'stale');
  return stale.length
    ? {
        name: 'pids',
        level: 'FAIL',
        message: `stale pid file(s): ${stale.map((f) => `${f.worker_id} (pid ${f.pid ?? '?'} not running)`).join(', ')}: restart that worker, or rayvault clean removes the file`,
        details: stale,
      }
    : { name: 'pids', level: 'PASS', message: `${files.length} pid file(s), none stale` };
};

/** Sorted keys: jsonb reorders object keys, so compare values, not spellings. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );

/**
 * Each checkpoint file against run_stages.steps. The file is written first,
 * so it may be one step ahead after a crash (WARN); a step the database has
 * and the file lacks, or a different result, is a FAIL.
 */
const checkCheckpoints: Check = async (rt) => {
  const dir = stateLayout(rt.stateDir).checkpoints;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const fails: string[] = [];
  const warns: string[] = [];
  for (const f of files) {
    let cp: CheckpointFile;
    try {
      cp = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CheckpointFile;
    } catch {
      fails.push(`${f}: unreadable`);
      continue;
    }
    const run = await rt.media.housekeeping.runSteps(String(cp.run_id));
    if (!run) {
      fails.push(`${f}: run unknown to the database`);
      continue;
    }
    if (run.status === 'done' || run.status === 'aborted') {
      warns.push(`${f}: leftover of a ${run.status} run (rayvault clean removes it)`);
      continue;
    }
    for (const [stage, s] of Object.entries(cp.stages)) {
      if (!s || s.generation !== run.refetch_count) continue; // an older evidence generation: ignored on resume too
      const db = run.steps[stage] ?? {};
      const dbOnly = Object.keys(db).filter((k) => !(k in s.steps));
      const differ = Object.keys(db).filter((k) => k in s.steps && canonical(db[k]) !== canonical(s.steps[k]));
      const fileOnly = Object.keys(s.steps).filter((k) => !(k in db));
      if (dbOnly.length || differ.length)
        fails.push(
          `${cp.run_id} ${stage}: ${dbOnly.length ? `database has ${dbOnly.join(', ')} the file lacks` : ''}${differ.length ? ` results differ for ${differ.join(', ')}` : ''}`.trim(),
        );
      else if (fileOnly.length)
        warns.push(
          `${cp.run_id} ${stage}: file ahead by ${fileOnly.join(', ')} (a crash between the two writes; resume uses the file)`,
        );
    }
  }
  const level: CheckLevel = fails.length ? 'FAIL' : warns.length ? 'WARN' : 'PASS';
  const message =
    fails.length || warns.length
      ? [...fails, ...warns].slice(0, 5).join('; ')
      : `${files.length} checkpoint file(s) agree with the database`;
  return { name: 'checkpoints', level, message, details: { files: files.length, fails, warns } };
};

export const BAPTISM_CHECKS: Record<BaptismCheckName, Check> = {
  infra: checkInfra,
  migrations: checkMigrations,
  checkpoints: checkCheckpoints,
  spool: checkSpool,
  pids: checkPids,
  index: checkIndex,
  skip: checkSkip,
  orphans: checkOrphans,
};
