/**
 * Time-ordered UUIDs (version 7): the event id is the deduplication key
 * everywhere downstream, and time order keeps ClickHouse parts and Kafka logs
 * friendly. crypto.getRandomValues is used when present; Math.random is the
 * last resort on very old browsers (ids stay unique enough for dedup).
 */
export function uuid(now: number = Date.now()): string {
  const b = new Uint8Array(16);
  try {
    crypto.getRandomValues(b);
  } catch {
    for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  }
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6]! & 15) | 0x70;
  b[8] = (b[8]! & 63) | 0x80;
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += (b[i]! + 256).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}
