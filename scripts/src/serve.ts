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
    // Start-up failures are the operator's to fix: one line, with a stack only for bugs.
    const known =
      err instanceof ConfigError ||
      (err instanceof Error && err.name !== 'Error' && !(err instanceof TypeError) && !(err instanceof ReferenceError));
    console.error(known ? `error: ${(err as Error).name}: ${(err as Error).message}` : err);
    process.exit(1);
  },
);
