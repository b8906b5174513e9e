/** How a dependency failed, in the operator's words (doctor, health). */
export const OUTAGE_KINDS = [
  'dns_resolution',
  'timeout',
  'network_unreachable',
  'connection_refused',
  'auth_failed',
  'provider_unavailable',
] as const;
export type OutageKind = (typeof OUTAGE_KINDS)[number];

export function classifyOutage(err: unknown): OutageKind {
  const e = err as { code?: string; message?: string; errors?: unknown[]; cause?: unknown };
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(text)) return 'dns_resolution';
  if (/ECONNREFUSED/i.test(text)) return 'connection_refused';
  if (/ENETUNREACH|EHOSTUNREACH/i.test(text)) return 'network_unreachable';
  if (/28P01|28000|NOAUTH|WRONGPASS|password authentication|invalid password|JWT|401/i.test(text)) return 'auth_failed';
  if (/ETIMEDOUT|timeout|timed out/i.test(text)) return 'timeout';
  const nested = e?.errors?.[0] ?? e?.cause;
  return nested && nested !== err ? classifyOutage(nested) : 'provider_unavailable';
}
