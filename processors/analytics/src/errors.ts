/**
 * Errors of the analytics processor. `retriable` decides what the sink does:
 * retry with backoff (ClickHouse down, timeouts) or split the batch and
 * dead-letter the rows ClickHouse rejects (bad data).
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

/** A Kafka message that is not a valid enriched event; it goes to invalid_events. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  readonly retriable = false;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An insert failed. Retriable: the same batch is tried again; not: its rows are split to find the bad ones. */
export class SinkError extends Error {
  override name = 'SinkError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly chCode: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** Thrown by a test hook to simulate the process dying between insert and commit. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
  readonly retriable = false;
}

/**
 * ClickHouse error codes that mean "this data is wrong", so retrying the same
 * rows can never succeed. Everything else (network, memory, too many parts,
 * timeouts) is treated as retriable.
 */
const DATA_ERROR_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '25', // CANNOT_PARSE_ESCAPE_SEQUENCE (RELIABILITY.md F1: a lone surrogate)
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '32', // ATTEMPT_TO_READ_AFTER_EOF
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  '395', // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
  '469', // VIOLATED_CONSTRAINT
  '1001', // STD_EXCEPTION (parser failures in some formats)
]);

export function classifyInsertError(err: unknown): SinkError {
  if (err instanceof SinkError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  const msg = err instanceof Error ? err.message : String(err);
  const isData = code !== undefined && DATA_ERROR_CODES.has(code);
  return new SinkError(`insert into ClickHouse failed${code ? ` (code ${code})` : ''}: ${msg}`, !isData, code, { cause: err });
}
