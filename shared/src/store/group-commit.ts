import type { Context } from '@opentelemetry/api';
import { DatabaseUnavailableError } from '../errors/errors';
import { activeContext, inSpan, withContext } from '../telemetry/trace-context';
import type { Rpc } from './types';

/** The hot-path writes `rv_group` (migration 015) carries. */
export const GROUPED_CALLS = new Set(['rv_claim_stage', 'rv_checkpoint', 'rv_complete_stage', 'rv_hand_off']);

export type GroupedCall = { fn: string; args: Record<string, unknown> };
/** One call's own outcome inside a group: its result, or its error. */
export type GroupedResult = { r?: unknown; code?: string; message?: string };
export type GroupCommitStats = { calls: number; groups: number; inGroups: number };

/** A queued call, with its caller's trace context: a lane sends it later, on behalf of whoever started the lane. */
type Waiting = GroupedCall & { resolve: (v: unknown) => void; reject: (e: unknown) => void; ctx?: Context };

/**
 * Group commit over an adapter: a grouped call leaves at once while fewer than `lanes` are in flight (alone, so at low
 * load nothing waits and latency does not grow); calls that arrive while every lane is busy queue, and leave together
 * as one `rv_group` call, one transaction and one commit, as soon as a lane is free. Each keeps its own result or
 * error. Should a group fail as a whole for any reason but an unreachable database (a deadlock between two groups, a
 * database not yet migrated), each of its calls goes again alone.
 */
export function withGroupCommit(
  alone: Rpc,
  group: (calls: GroupedCall[]) => Promise<GroupedResult[]>,
  mapError: (err: unknown) => unknown,
  lanes: () => number,
): Rpc & { stats: GroupCommitStats } {
  const stats: GroupCommitStats = { calls: 0, groups: 0, inGroups: 0 };
  const waiting: Waiting[] = [];
  let busy = 0;

  // A call sent alone runs in its caller's context: its pg span is in its run's trace.
  const each = (batch: Waiting[]) =>
    Promise.all(batch.map((w) => withContext(w.ctx, () => alone(w.fn, w.args)).then(w.resolve, w.reject)));

  async function send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return void (await each(batch));
    stats.groups++;
    stats.inGroups += batch.length;
    // One lock order for every group (by run), so two groups never wait on each other in a cycle.
    batch.sort((a, b) => String(a.args.p_run).localeCompare(String(b.args.p_run)));
    let results: GroupedResult[];
    try {
      // The group's own query belongs to no one run's trace; each call gets a span in its caller's.
      const sent = withContext('root', () => group(batch.map(({ fn, args }) => ({ fn, args }))));
      for (const w of batch) void groupedSpan(w, sent, batch.length);
      results = await sent;
    } catch (err) {
      const mapped = mapError(err);
      if (mapped instanceof DatabaseUnavailableError) return batch.forEach((w) => w.reject(mapped));
      return void (await each(batch));
    }
    batch.forEach((w, i) => {
      const res = results[i];
      if (res?.code) w.reject(mapError(Object.assign(new Error(res.message ?? res.code), { code: res.code })));
      else w.resolve(res?.r ?? null);
    });
  }

  async function lane(): Promise<void> {
    busy++;
    try {
      while (waiting.length) await send(waiting.splice(0, waiting.length));
    } finally {
      busy--;
    }
  }

  const rpc = (fn: string, args: Record<string, unknown>): Promise<unknown> => {
    if (!GROUPED_CALLS.has(fn)) return alone(fn, args);
    stats.calls++;
    return new Promise((resolve, reject) => {
      waiting.push({ fn, args, resolve, reject, ctx: activeContext() });
      if (busy < lanes()) void lane();
    });
  };
  return Object.assign(rpc, { stats });
}

/** A grouped call's span, in its caller's trace, from the group's sending to its answer. */
function groupedSpan(w: Waiting, sent: Promise<unknown>, size: number): Promise<unknown> {
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': w.fn, 'rayvault.group_size': size };
  return inSpan(`pg.query:rv_group ${w.fn}`, { parent: w.ctx, attributes }, () => sent).catch(() => undefined);
}
