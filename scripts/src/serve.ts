/**
 * Runs the single-process app without touching the local services (they are
 * started by `npm start` through cli.ts, or by the test runner).
 */
import { runSingleProcess } from './single-process.ts';
import { ConfigError } from './config.ts';

runSingleProcess(process.env).then(
  (host) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        void host.stop(sig).then(() => process.exit(0));
      });
    }
  },
  (err: unknown) => {
    console.error(err instanceof ConfigError ? `error: ${err.message}` : err);
    process.exit(1);
  },
);
