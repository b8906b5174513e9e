// Runs the real `rayvault` CLI as a subprocess with a test environment, and
// lays out state files (finals, staging, pid files) the way the stages do.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { ROOT, type TestEnv } from '../support/harness';

export type CliResult = { code: number | null; stdout: string; stderr: string };

export function rayvault(t: TestEnv, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'cli/bin/rayvault'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...t.env, RAYVAULT_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `--json` output: exactly one JSON document on stdout. */
// `any`: tests read deep fields of the documents.
export function json<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export type FinalFile = { path: string; sha256: string; bytes: number };

/** A final file named as the render stage names it: `<run8>-segNN-<sha8>.mp4`. */
export function writeFinal(stateDir: string, runId: string, segment: number, content: string): FinalFile {
  const sha256 = createHash('sha256').update(content).digest('hex');
  const file = path.join(
    stateDir,
    'final',
    `${runId.slice(0, 8)}-seg${String(segment).padStart(2, '0')}-${sha256.slice(0, 8)}.mp4`,
  );
  writeRaw(file, content);
  return { path: file, sha256, bytes: Buffer.byteLength(content) };
}

export function writeRaw(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** The row the render stage records for a final file (`rv_record_artifact`'s insert). */
export async function indexFinal(
  pool: pg.Pool,
  runId: string,
  segment: number,
  f: FinalFile,
  extra: { duration_s?: number; target_s?: number } = {},
): Promise<void> {
  await pool.query(
    `INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, duration_s, meta) VALUES ($1, 'render', $2, 'video', $3, $4, $5, $6, $7)`,
    [
      runId,
      segment,
      f.path,
      f.sha256,
      f.bytes,
      extra.duration_s ?? null,
      { target_s: extra.target_s ?? null, provider: 'local' },
    ],
  );
}

/** Makes a file look `hours` old. */
export function ageHours(file: string, hours: number): void {
  const t = new Date(Date.now() - hours * 3_600_000);
  utimesSync(file, t, t);
}

/** The pid of a process that has exited (for stale pid files). */
export function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', () => resolve(p.pid!));
  });
}
