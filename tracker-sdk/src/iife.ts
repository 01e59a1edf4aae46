import { createStorepulse } from './tracker.ts';
import type { Storepulse } from './types.ts';

/**
 * Entry of dist/sdk.iife.js. The loader snippet leaves `window.storepulse` as
 * a stub whose methods record calls in `_q`; here the real tracker replaces
 * it and replays those calls in order; calls made before init wait inside the tracker until it runs.
 */
type Stub = { _q?: [string, unknown[]][]; _loaded?: boolean };

((w: Window & { storepulse?: Stub | Storepulse }) => {
  try {
    const stub = w.storepulse as Stub | undefined;
    if (stub && (stub as Stub)._loaded) return;
    const sp = createStorepulse() as Storepulse & Stub;
    sp._loaded = true;
    w.storepulse = sp;
    const calls = Array.isArray(stub?._q) ? stub!._q : [];
    for (const [m, args] of calls) {
      const fn = (sp as unknown as Record<string, unknown>)[m];
      if (typeof fn === 'function') fn.apply(sp, args);
    }
  } catch {
    /* never break the host page */
  }
})(window);
