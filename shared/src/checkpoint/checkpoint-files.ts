import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Stage } from '../domain/run-status';

export type CheckpointFile = {
  run_id: string;
  stages: Partial<Record<Stage, { generation: number; steps: Record<string, unknown> }>>;
  updated_at: string;
};

/**
 * `state/checkpoints/<run>.json`, written atomically (temp file, fsync,
 * rename, fsync of the directory). The database holds the same steps; this
 * file is the fast local copy and survives a database outage.
 */
export function createCheckpointFiles(dir: string) {
  mkdirSync(dir, { recursive: true });
  const fileOf = (runId: string) => path.join(dir, `${runId}.json`);

  function read(runId: string): CheckpointFile | null {
    const file = fileOf(runId);
    // Most claims find no file; a thrown ENOENT costs more than the stat.
    if (!existsSync(file)) return null;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
    } catch {
      return null; // missing or unreadable: the database copy is used
    }
  }

  function write(cp: CheckpointFile): void {
    const target = fileOf(cp.run_id);
    const tmp = `${target}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(cp));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  return {
    dir,
    read,
    /**
     * Steps finished for this stage. The generation is the run's refetch
     * count: a refetch starts evidence clean, a resume or retry does not.
     */
    steps(runId: string, stage: Stage, generation: number): Record<string, unknown> {
      const s = read(runId)?.stages[stage];
      return s && s.generation === generation ? { ...s.steps } : {};
    },
    saveStep(runId: string, stage: Stage, generation: number, step: string, result: unknown): void {
      const cp = read(runId) ?? { run_id: runId, stages: {}, updated_at: '' };
      const cur = cp.stages[stage];
      const steps = cur && cur.generation === generation ? cur.steps : {};
      cp.stages[stage] = { generation, steps: { ...steps, [step]: result ?? null } };
      cp.updated_at = new Date().toISOString();
      write(cp);
    },
    remove(runId: string): void {
      rmSync(fileOf(runId), { force: true });
    },
  };
}
export type CheckpointFiles = ReturnType<typeof createCheckpointFiles>;
