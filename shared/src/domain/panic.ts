/** The panic taxonomy of the operator manual. A panic is never retried blindly. */
export const PANIC_KINDS = [
  'panic_lost_lock',
  'panic_heartbeat_uncertain',
  'panic_browser_frozen',
  'panic_integrity_failure',
  'panic_voice_contract_drift',
  'panic_dzine_ui_failure',
] as const;
export type PanicKind = (typeof PANIC_KINDS)[number];

/** What the operator should do, shown in alerts, doctor and the dashboard. */
export const PANIC_ADVICE: Readonly<Record<PanicKind, string>> = {
  panic_lost_lock:
    'Another worker claimed the run or the lease expired: check for duplicate workers or a short lease. Do not retry blindly.',
  panic_heartbeat_uncertain:
    'Redis or the database stopped answering: check the network, look at last_heartbeat_latency_ms, wait 2-5 min.',
  panic_browser_frozen: 'The render studio page stopped answering: restart the browser, check RAM/GPU, then resume.',
  panic_integrity_failure:
    'Trusted sources still disagree after refetching: open the dashboard and approve, refetch or abort.',
  panic_voice_contract_drift:
    'Voice duration cannot meet its target after the repair loop: edit the segment text or target.',
  panic_dzine_ui_failure: 'The studio export failed or was rejected by ffprobe: check credits and the staging dir.',
};
