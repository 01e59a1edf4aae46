/**
 * The promotions package's errors. `retriable` tells the consumer whether a
 * retry can help (Redis/Kafka hiccup) or the input must be dead-lettered.
 */
export class PromotionsError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PromotionsError';
    this.retriable = options.retriable ?? false;
  }
}

/** One or more settings are invalid; `problems` names each one with the expected form. */
export class ConfigError extends PromotionsError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid promotions settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The catalog file cannot be used; `entry` says which promotion is wrong (index and id). */
export class CatalogError extends PromotionsError {
  readonly path: string;
  readonly problems: string[];
  constructor(path: string, problems: string[], cause?: unknown) {
    super(`Invalid promotions catalog ${path}:\n  - ${problems.join('\n  - ')}\nFix the file; the previous catalog stays in use.`, {
      cause,
    });
    this.name = 'CatalogError';
    this.path = path;
    this.problems = problems;
  }
}

/** A Kafka message that is not a usable enriched event. Never retriable: it goes to invalid_events. */
export class InvalidEventError extends PromotionsError {
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, { cause, retriable: false });
    this.name = 'InvalidEventError';
    this.code = code;
  }
}

/** Redis (or the REST proxy) did not confirm a write or a read. Retriable. */
export class StoreError extends PromotionsError {
  readonly operation: string;
  constructor(operation: string, cause: unknown, hint = 'Check REDIS_URL and that Redis is up.') {
    super(`Redis ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}. ${hint}`, {
      cause,
      retriable: true,
    });
    this.name = 'StoreError';
    this.operation = operation;
  }
}
