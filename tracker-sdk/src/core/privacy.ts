/** Fields whose value, and even name, the tracker never reports. */
export interface FieldLike {
  type?: string | null;
  name?: string | null;
  id?: string | null;
  autocomplete?: string | null;
}

const SENSITIVE_NAME = /pass|pwd|secret|card|cc-?(num|number|csc|exp|cvc)|cvc|cvv|csc|iban|ssn|social.?sec|\bpin\b|otp|token/i;
const SENSITIVE_AUTOCOMPLETE = /(^|\s)(cc-|current-password|new-password|one-time-code)/i;

export function isSensitiveField(f: FieldLike): boolean {
  if ((f.type ?? '').toLowerCase() === 'password') return true;
  if (SENSITIVE_AUTOCOMPLETE.test(f.autocomplete ?? '')) return true;
  return SENSITIVE_NAME.test(f.name ?? '') || SENSITIVE_NAME.test(f.id ?? '');
}

/** Global Privacy Control or Do Not Track is on. */
export function privacySignal(nav: unknown, win?: unknown): boolean {
  const n = (nav ?? {}) as { globalPrivacyControl?: unknown; doNotTrack?: unknown };
  return n.globalPrivacyControl === true || n.doNotTrack === '1' || (win as { doNotTrack?: unknown } | undefined)?.doNotTrack === '1';
}
