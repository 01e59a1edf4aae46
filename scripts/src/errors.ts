/** A setup problem the user can fix; printed as one line, never as a stack trace. */
export class SetupError extends Error {
  override name = 'SetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
