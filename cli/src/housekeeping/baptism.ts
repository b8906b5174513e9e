import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateLayout, type Runtime } from '@rayvault/shared';
import { BAPTISM_CHECKS, type BaptismCheck, type BaptismCheckName } from './baptism-checks';

export type BaptismReport = {
  level: 'A' | 'B';
  verdict: 'PASS' | 'FAIL';
  at: string;
  state_dir: string;
  checks: BaptismCheck[];
  /** Where the report was written (`state/baptism/<timestamp>.{json,txt}`). */
  files: { json: string; txt: string } | null;
};

/** Level A without a worker; level B after kill tests adds checkpoints, spool and pid files. Order as in the manual. */
const LEVEL_A: BaptismCheckName[] = ['infra', 'migrations', 'index', 'skip', 'orphans'];
const LEVEL_B: BaptismCheckName[] = ['infra', 'migrations', 'checkpoints', 'spool', 'pids', 'index', 'skip', 'orphans'];
/** Checks that cannot run without the database. */
const NEEDS_DB = new Set<BaptismCheckName>(['migrations', 'index', 'skip', 'orphans', 'checkpoints', 'pids']);

/** Runs every check of the level (one failing check does not stop the others) and writes the report. */
export async function runBaptism(rt: Runtime, opts: { full: boolean }): Promise<BaptismReport> {
  const checks: BaptismCheck[] = [];
  let dbUp = true;
  for (const name of opts.full ? LEVEL_B : LEVEL_A) {
    if (!dbUp && NEEDS_DB.has(name)) {
      checks.push({ name, level: 'FAIL', message: 'not checked: postgres unreachable' });
      continue;
    }
    const result = await BAPTISM_CHECKS[name](rt).catch((err: Error): BaptismCheck => ({
      name,
      level: 'FAIL',
      message: err.message,
    }));
    if (name === 'infra') dbUp = (result.details as Record<string, boolean>).postgres;
    checks.push(result);
  }
  const report: BaptismReport = {
    level: opts.full ? 'B' : 'A',
    verdict: checks.some((c) => c.level === 'FAIL') ? 'FAIL' : 'PASS',
    at: new Date().toISOString(),
    state_dir: rt.stateDir,
    checks,
    files: null,
  };
  report.files = writeBaptismReport(stateLayout(rt.stateDir).baptism, report);
  return report;
}

export function baptismText(r: BaptismReport): string {
  const lines = r.checks.map((c) => `${c.level.padEnd(4)}  ${c.name.padEnd(11)} ${c.message}`);
  return (
    [
      `BAPTISM ${r.level} (${r.level === 'A' ? 'dry, no worker' : 'full, after kill tests'}) ${r.at}`,
      ...lines,
      `verdict: ${r.verdict}`,
    ].join('\n') + '\n'
  );
}

function writeBaptismReport(dir: string, r: BaptismReport): { json: string; txt: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, r.at.replace(/[:.]/g, '-'));
  const files = { json: `${base}.json`, txt: `${base}.txt` };
  writeFileSync(files.json, JSON.stringify({ ...r, files }, null, 2) + '\n');
  writeFileSync(files.txt, baptismText(r));
  return files;
}
