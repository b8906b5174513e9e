import { stageTries, type TryEvent } from './stage-tries';

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s)).toISOString();
const ev = (
  s: number,
  type: string,
  actor = 'w1',
  payload: Record<string, unknown> = {},
  fence: number | null = null,
): TryEvent => ({ type, actor, created_at: at(s), payload, fence });

it('draws one try per claim, ending at what followed it', () => {
  const tries = stageTries(
    [
      ev(0, 'run_created', 'ray'),
      ev(1, 'stage_claimed', 'w1', { stage: 'evidence', attempt: 1 }, 1),
      ev(2, 'gate_opened'),
      ev(5, 'approved', 'ray'),
      ev(6, 'stage_claimed', 'w1', { stage: 'voice', attempt: 1 }, 2),
      ev(8, 'stage_claimed', 'w2', { stage: 'voice', attempt: 1 }, 3),
      ev(9, 'stage_completed', 'w2'),
      ev(10, 'stage_claimed', 'w2', { stage: 'render', attempt: 1 }, 4),
      ev(12, 'panic_lost_lock', 'w2'),
      ev(20, 'stage_claimed', 'w3', { stage: 'render', attempt: 2 }, 5),
    ].reverse(),
  );
  expect(
    tries.map((t) => [
      t.stage,
      t.attempt,
      t.worker,
      t.fence,
      t.outcome,
      t.end === null ? null : (t.end - t.start) / 1000,
    ]),
  ).toEqual([
    ['evidence', 1, 'w1', 1, 'gated', 1],
    ['voice', 1, 'w1', 2, 'retried', 2],
    ['voice', 1, 'w2', 3, 'done', 1],
    ['render', 1, 'w2', 4, 'panic', 2],
    ['render', 2, 'w3', 5, 'running', null],
  ]);
});

it('has no try before the first claim', () => {
  expect(stageTries([ev(0, 'run_created'), ev(1, 'aborted', 'ray')])).toEqual([]);
});
