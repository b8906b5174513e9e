/** Exit codes of every verb: 0 ok, 1 the check or action failed, 2 bad usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
