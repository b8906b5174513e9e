// Each try of each stage, from the run's events: a try starts at a
// `stage_claimed` and ends at what followed it — a completion, a gate, a panic,
// a release or unlock, a failure, or the next claim (a retry or a takeover).
// A claim the previous stage's completion made (actor `hand-off`) names its
// worker at the holder's first write under its fence.
export type TryOutcome = 'done' | 'gated' | 'panic' | 'stopped' | 'retried' | 'running';
export type StageTry = {
  stage: string;
  attempt: number;
  worker: string;
  fence: number | null;
  start: number;
  end: number | null;
  outcome: TryOutcome;
};
export type TryEvent = {
  type: string;
  actor: string;
  created_at: string;
  /** Order within one transaction (a completion and the hand-off claim share a timestamp). */
  seq?: number;
  fence?: number | null;
  payload?: Record<string, unknown> | null;
};

function ending(type: string): TryOutcome | null {
  if (type === 'stage_completed' || type === 'run_done') return 'done';
  if (type === 'gate_opened') return 'gated';
  if (type.startsWith('panic') || type === 'run_panicked') return 'panic';
  if (
    ['stage_released', 'force_unlock', 'aborted', 'run_aborted', 'failed', 'run_failed', 'stage_failed'].includes(type)
  )
    return 'stopped';
  return null;
}

const HAND_OFF = 'hand-off';

/** Events oldest first (as the API returns them or reversed): the tries in the order they began. */
export function stageTries(events: readonly TryEvent[]): StageTry[] {
  const ordered = [...events].sort(
    (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.seq ?? 0) - (b.seq ?? 0),
  );
  const tries: StageTry[] = [];
  let open: StageTry | null = null;
  for (const e of ordered) {
    const at = Date.parse(e.created_at);
    if (e.type === 'stage_claimed') {
      if (open) Object.assign(open, { end: at, outcome: 'retried' });
      const p = e.payload ?? {};
      open = {
        stage: String(p.stage ?? '?'),
        attempt: Number(p.attempt ?? 1),
        worker: e.actor,
        fence: e.fence ?? null,
        start: at,
        end: null,
        outcome: 'running',
      };
      tries.push(open);
      continue;
    }
    if (open?.worker === HAND_OFF && e.fence === open.fence && e.actor !== HAND_OFF) open.worker = e.actor;
    const outcome = open ? ending(e.type) : null;
    if (open && outcome) {
      Object.assign(open, { end: at, outcome });
      open = null;
    }
  }
  return tries;
}
