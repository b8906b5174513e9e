import { RayVaultError } from '../errors/rayvault-error';

/**
 * The destination (or a redirect hop) is an address the fetcher must not
 * reach: loopback, private, link-local, … Permanent: the same URL resolves to
 * the same kind of address next time. The message is `<url> refused: <reason>`.
 */
export class DestinationRefusedError extends RayVaultError {
  readonly code = 'forbidden' as const;
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${url} refused: ${reason}`, options);
  }
}

/** The decoded body grew past the byte cap; reading stopped there. Permanent: the page will not shrink by retrying. */
export class BodyTooLargeError extends RayVaultError {
  readonly code = 'payload_too_large' as const;
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`${url}: body exceeds RAYVAULT_FETCH_MAX_BYTES (${maxBytes} bytes) after decoding`);
  }
}

/** The whole fetch (every hop, headers and body) did not finish within its deadline. */
export class FetchTimeoutError extends RayVaultError {
  readonly code = 'transient' as const;
  readonly retryable = true;
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${url} did not answer within ${timeoutMs} ms`, options);
  }
}

/** DNS or the connection failed (ENOTFOUND, ECONNREFUSED, a reset mid-body): may pass on a later try. */
export class FetchNetworkError extends RayVaultError {
  readonly code = 'transient' as const;
  readonly retryable = true;
  constructor(
    readonly url: string,
    readonly netCode: string,
    options?: { cause?: unknown },
  ) {
    super(`${url} unreachable: ${netCode}`, options);
  }
}

/** The answer cannot be used: too many redirects, an unknown or corrupt content encoding. Permanent. */
export class BadResponseError extends RayVaultError {
  readonly code = 'invalid_input' as const;
  readonly retryable = false;
}

export function isDestinationRefused(err: unknown): err is DestinationRefusedError {
  return err instanceof DestinationRefusedError || (err instanceof Error && err.name === 'DestinationRefusedError');
}
