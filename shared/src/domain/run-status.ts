/** Run statuses and the legal transitions between them (mirrors run_transitions in SQL). */
export const RUN_STATUSES = [
  'queued',
  'running',
  'waiting_approval',
  'approved',
  'done',
  'failed',
  'aborted',
  'panic',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'aborted'],
  running: ['waiting_approval', 'done', 'failed', 'aborted', 'panic'],
  waiting_approval: ['approved', 'running', 'aborted', 'panic'],
  approved: ['running', 'aborted'],
  panic: ['queued', 'aborted'],
  failed: ['queued', 'aborted'],
  done: [],
  aborted: [],
};

/** Statuses after which only a forced unlock may touch the run. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ['done', 'failed', 'aborted'];

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export const STAGES = ['evidence', 'voice', 'render', 'qc'] as const;
export type Stage = (typeof STAGES)[number];

export function nextStage(stage: Stage): Stage | null {
  return STAGES[STAGES.indexOf(stage) + 1] ?? null;
}

export const WORKER_STATES = ['active', 'waiting', 'panic', 'idle'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export const OPERATOR_ACTIONS = ['approve', 'refetch', 'abort', 'resume'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];
