import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';

export interface SdkBody {
  body: Buffer;
  etag: string;
  placeholder: boolean;
}

export interface SdkBundle {
  get(): SdkBody;
}

/** Served until the tracker-sdk bundle is built: defines a no-op API so pages using the snippet do not break. */
export const PLACEHOLDER_SDK = `/* storepulse tracker: placeholder, the SDK bundle is not built yet (npm run build -w tracker-sdk) */
(function(w){var q=w.storepulse=w.storepulse||[];if(!q.track){var n=function(){};q.track=n;q.page=n;q.identify=n;q.flush=n;}})(window);
`;

/**
 * The tracker bundle from SDK_BUNDLE_PATH, re-read when the file changes
 * (checked at most once a second), with a content ETag for revalidation.
 */
export function createSdkBundle(path: string, logger: Logger, now: () => number = Date.now): SdkBundle {
  let cached: SdkBody | undefined;
  let mtimeMs = -1;
  let checkedAt = -Infinity;
  const make = (body: Buffer, placeholder: boolean): SdkBody => ({
    body,
    placeholder,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  });
  const placeholder = make(Buffer.from(PLACEHOLDER_SDK), true);
  return {
    get() {
      const t = now();
      if (cached && t - checkedAt < 1000) return cached;
      checkedAt = t;
      try {
        const st = statSync(path);
        if (!cached || cached.placeholder || st.mtimeMs !== mtimeMs) {
          cached = make(readFileSync(path), false);
          mtimeMs = st.mtimeMs;
        }
      } catch {
        if (!cached || !cached.placeholder) logger.warn({ path }, 'tracker bundle not found; serving the placeholder /sdk.js');
        cached = placeholder;
      }
      return cached;
    },
  };
}
