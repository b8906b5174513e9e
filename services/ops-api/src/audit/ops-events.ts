import { randomUUID } from 'node:crypto';
import type { Rpc } from '@rayvault/shared';

export type OpsEvent = { type: string; actor: string; reason?: string; target?: string; payload?: object };

/** Audit of actions that are not about one run (queues, intake, tokens, Bull Board); run actions are run events. */
export function createOpsAudit(rpc: Rpc) {
  return {
    record: (e: OpsEvent, eventId: string = randomUUID()) =>
      rpc('rv_ops_event', { p_event_id: eventId, p_type: e.type, p_actor: e.actor, p_reason: e.reason ?? null, p_target: e.target ?? null, p_payload: e.payload ?? {} }),
    recent: (limit = 50) => rpc('rv_ops_events', { p_limit: limit }),
  };
}
export type OpsAudit = ReturnType<typeof createOpsAudit>;
