/**
 * The project's command line: `services up|down|status|topics`, `start`, `test`.
 * Reached through scripts/run.sh, which has already made sure Node >= 22 and
 * the dependencies are in place.
 */
import { spawn } from 'node:child_process';
import { ConfigError, loadServicesConfig } from './config.ts';
import { SetupError } from './errors.ts';
import { ROOT } from './paths.ts';
import { servicesDown, servicesStatus, servicesUp } from './services/index.ts';
import { ensureChromium } from './services/chromium.ts';

async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  const cfg = loadServicesConfig(process.env);
  switch (cmd) {
    case 'services':
      switch (sub) {
        case 'up':
          await servicesUp(cfg);
          return 0;
        case 'down':
          await servicesDown();
          return 0;
        case 'status':
          return (await servicesStatus(cfg)) ? 0 : 1;
        case 'topics':
          await servicesUp(cfg);
          return 0;
        default:
          throw new SetupError(`unknown services command '${sub ?? ''}': use up, down, status or topics`);
      }
    case 'start': {
      console.log(`start: node ${process.version}`);
      await servicesUp(cfg);
      const { runSingleProcess } = await import('./single-process.ts');
      await runSingleProcess(process.env);
      return -1; // keeps running until a signal
    }
    case 'test': {
      console.log(`test: node ${process.version}`);
      await servicesUp(cfg);
      ensureChromium();
      const args = ['run', ...(sub ? [sub, ...rest] : [])];
      return await new Promise<number>((resolve) => {
        const child = spawn('vitest', args, { stdio: 'inherit', cwd: ROOT, env: process.env });
        child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      });
    }
    default:
      throw new SetupError(`unknown command '${cmd ?? ''}': use start, test or services up|down|status|topics`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof SetupError || err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
    } else {
      console.error(err);
    }
    process.exit(1);
  },
);
