import { RayVaultError, type ErrorCode } from '@rayvault/shared';

/** Why a source could not be read; the health view and run events show it as `reason`. */
export type FetchFailureReason =
  | 'timeout'
  | 'network'
  | 'http_5xx'
  | 'http_429'
  | 'http_4xx'
  | 'too_large'
  | 'circuit_open'
  | 'file_unreadable'
  /** The URL or a redirect hop points at a private address RAYVAULT_FETCH_ALLOW does not permit. */
  | 'refused'
  /** Too many redirects, or a body in an unknown or corrupt encoding. */
  | 'bad_response'
  /** The page was read but extracting its facts failed or overran its time limit. */
  | 'extraction_failed';

/**
 * A source could not be read. `retryable` failures (timeouts, network, 5xx,
 * 429, an open circuit) may pass on a later try; the others will not.
 */
export class SourceFetchError extends RayVaultError {
  readonly code: ErrorCode;
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = retryable ? 'transient' : 'dependency_unavailable';
  }
}

export function isSourceFetchError(err: unknown): err is SourceFetchError {
  return err instanceof SourceFetchError || (err instanceof Error && err.name === 'SourceFetchError');
}
