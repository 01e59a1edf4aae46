/** Errors of the warehouse package. `retriable` says whether trying again can help. */
export class WarehouseError extends Error {
  override name = 'WarehouseError';
  readonly retriable: boolean;
  constructor(message: string, opts: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.retriable = opts.retriable ?? false;
  }
}

/** The migrations folder or the recorded history is inconsistent; a human must fix it. */
export class MigrationError extends WarehouseError {
  override name = 'MigrationError';
  readonly file: string | undefined;
  constructor(message: string, opts: { file?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause, retriable: false });
    this.file = opts.file;
  }
}

/** A report request the caller can fix: unknown name or a bad parameter (HTTP 400). */
export class ReportRequestError extends WarehouseError {
  override name = 'ReportRequestError';
  readonly code: 'unknown_report' | 'bad_parameter';
  readonly param: string | undefined;
  constructor(message: string, opts: { code: 'unknown_report' | 'bad_parameter'; param?: string; cause?: unknown }) {
    super(message, { cause: opts.cause, retriable: false });
    this.code = opts.code;
    this.param = opts.param;
  }
}

/** ClickHouse failed to run a report (HTTP 503 when retriable, else 500). */
export class ReportQueryError extends WarehouseError {
  override name = 'ReportQueryError';
  readonly report: string;
  constructor(message: string, opts: { report: string; cause?: unknown; retriable?: boolean }) {
    super(message, { cause: opts.cause, retriable: opts.retriable ?? true });
    this.report = opts.report;
  }
}
