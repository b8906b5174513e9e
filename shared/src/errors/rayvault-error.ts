/** Every RayVault error says whether retrying can help, and has a stable code. */
export abstract class RayVaultError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Codes map to HTTP statuses in one table (see HTTP_STATUS_BY_CODE). */
export const HTTP_STATUS_BY_CODE = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  illegal_transition: 409,
  stale_fence: 409,
  payload_too_large: 413,
  invalid_input: 422,
  rate_limited: 429,
  dependency_unavailable: 503,
  transient: 503,
  panic: 500,
  config_invalid: 500,
  internal: 500,
} as const satisfies Record<string, number>;
export type ErrorCode = keyof typeof HTTP_STATUS_BY_CODE;

export function isRayVaultError(err: unknown): err is RayVaultError {
  return (
    err instanceof RayVaultError || (typeof err === 'object' && err !== null && 'code' in err && 'retryable' in err)
  );
}
