/**
 * Errors of the ingest API. Every request failure is an HttpError subclass;
 * `toErrorBody` in app.ts is the one place that maps them to responses.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly retriable = false;
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export interface HttpErrorOptions {
  cause?: unknown;
  /** Seconds the client should wait before retrying (429/503). */
  retryAfterS?: number;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly retryAfterS: number | undefined;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options: HttpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterS = options.retryAfterS;
  }
}

/** 400: the body is not a well-formed batch. */
export class MalformedBatchError extends HttpError {
  override name = 'MalformedBatchError';
  constructor(message: string, code = 'malformed_body', options: HttpErrorOptions = {}) {
    super(400, code, message, false, options);
  }
}

/** 401: no write key, or one not in WRITE_KEYS. */
export class UnknownWriteKeyError extends HttpError {
  override name = 'UnknownWriteKeyError';
  constructor(message: string) {
    super(401, 'unknown_write_key', message, false);
  }
}

/** 403: the browser origin is not allowed for this write key. */
export class OriginNotAllowedError extends HttpError {
  override name = 'OriginNotAllowedError';
  constructor(readonly origin: string) {
    super(
      403,
      'origin_not_allowed',
      `origin ${JSON.stringify(origin.slice(0, 200))} is not allowed for this write key; add it to the key's origins in WRITE_KEYS`,
      false,
    );
  }
}

/** 413: too many bytes (after decompression) or too many events. */
export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(
    message: string,
    /** The rest of the body was not read: the connection must close after the answer. */
    readonly closeConnection = false,
  ) {
    super(413, 'payload_too_large', message, false);
  }
}

/** 415: content type or content encoding we do not read. */
export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super(415, 'unsupported_media_type', message, false);
  }
}

const SCOPE_NAMES = { key: 'write key', ip: 'client IP', visitor: 'visitor (anonymous_id)' } as const;

/** 429: a per-key, per-IP or per-visitor rate limit. */
export class RateLimitedError extends HttpError {
  override name = 'RateLimitedError';
  constructor(
    readonly scope: keyof typeof SCOPE_NAMES,
    retryAfterS: number,
  ) {
    super(429, 'rate_limited', `rate limit per ${SCOPE_NAMES[scope]} exceeded; retry after ${retryAfterS}s`, true, {
      retryAfterS,
    });
  }
}

/** 503: Kafka could not take the batch in time, intake is full, or we are shutting down. Nothing of the batch was acknowledged. */
export class UnavailableError extends HttpError {
  override name = 'UnavailableError';
  constructor(code: 'kafka_unavailable' | 'overloaded' | 'shutting_down', message: string, retryAfterS: number, cause?: unknown) {
    super(503, code, message, true, { retryAfterS, cause });
  }
}
