import type { Transport } from '../core/queue.ts';
import { parseRetryAfter } from '../core/retry.ts';

/** Keepalive fetch for regular sends (survives navigation), sendBeacon on unload. */
export function httpTransport(endpoint: string): Transport {
  return {
    send(body, bytes) {
      try {
        return fetch(endpoint, {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/json' },
          keepalive: bytes < 64_000,
          credentials: 'same-origin',
        }).then(
          (r) => ({ status: r.status, retryAfterMs: parseRetryAfter(r.headers.get('Retry-After'), Date.now()) }),
          () => ({ status: 0 }),
        );
      } catch {
        return Promise.resolve({ status: 0 });
      }
    },
    beacon(body) {
      try {
        // a string body goes as text/plain: no CORS preflight, which unload would never wait for
        return navigator.sendBeacon(endpoint, body);
      } catch {
        return false;
      }
    },
  };
}
