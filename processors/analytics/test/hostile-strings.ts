/**
 * Strings that break naive TabSeparated escaping (backslashes, quotes, control characters, the
 * `\N` null marker, multi-byte text), shared by the unit test of the line builder and the test
 * that round-trips them through ClickHouse.
 */
export const HOSTILE_STRINGS: readonly string[] = Object.freeze([
  'a\\b',
  "q'uote",
  'tab\there',
  'nl\nx',
  'cr\rx',
  'nul\0x',
  "\\'",
  '\\',
  '\\N',
  'x\\ty',
  '{}[]',
  "a','b",
  'é漢字🙂',
  'bs\bff\f',
]);
