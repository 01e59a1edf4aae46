/**
 * WRITE_KEYS format: entries separated by ";" (or newlines), each
 *   <key>=<site>:<origin>[,<origin>...]
 * e.g. `wk_demo=demo:*;wk_shop=shop:https://shop.example,https://www.shop.example`.
 * `*` allows every origin. A bare `<key>` means site = key without a leading
 * "wk_", every origin allowed. Write keys are public (they sit in page source):
 * they say which site an event belongs to, they are not secrets.
 */
export interface WriteKeyInfo {
  key: string;
  site: string;
  /** Exact origins ("https://shop.example"), lower-cased; empty when anyOrigin. */
  origins: ReadonlySet<string>;
  anyOrigin: boolean;
}

const KEY_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const SITE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseWriteKeys(text: string): Map<string, WriteKeyInfo> {
  const out = new Map<string, WriteKeyInfo>();
  const entries = text
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('no write key given; expected key=site:origin[,origin];...');
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (!KEY_RE.test(key)) throw new Error(`write key ${JSON.stringify(key)} must be 1-128 letters, digits, "_", "." or "-"`);
    let site = key.replace(/^wk_/, '');
    let originsText = '*';
    if (eq >= 0) {
      const rest = entry.slice(eq + 1);
      const colon = rest.indexOf(':');
      site = (colon < 0 ? rest : rest.slice(0, colon)).trim();
      originsText = colon < 0 ? '*' : rest.slice(colon + 1);
    }
    if (!SITE_RE.test(site)) throw new Error(`site ${JSON.stringify(site)} of key ${key} must be 1-64 letters, digits, "_", "." or "-"`);
    const origins = originsText
      .split(',')
      .map((o) => o.trim().toLowerCase().replace(/\/+$/, ''))
      .filter(Boolean);
    if (origins.length === 0) throw new Error(`key ${key} lists no origin; use * for any`);
    for (const o of origins) {
      if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
        throw new Error(`origin ${JSON.stringify(o)} of key ${key} must look like https://shop.example (scheme, host, optional port) or *`);
      }
    }
    if (out.has(key)) throw new Error(`write key ${key} is listed twice`);
    const anyOrigin = origins.includes('*');
    out.set(key, Object.freeze({ key, site, origins: new Set(anyOrigin ? [] : origins), anyOrigin }));
  }
  return out;
}

export function originAllowed(info: WriteKeyInfo, origin: string): boolean {
  return info.anyOrigin || info.origins.has(origin.toLowerCase());
}
