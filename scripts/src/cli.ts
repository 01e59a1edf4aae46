/**
 * The project's command line: `services up|down|status|topics`, `start`, `test`.
 * Reached through scripts/run.sh, which has already made sure Node >= 22 and
 * the dependencies are in place.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadServicesConfig } from './config.ts';
import { SetupError } from './errors.ts';
import { ROOT } from './paths.ts';
import { servicesDown, servicesStatus, servicesUp } from './services/index.ts';
import { ensureChromium } from './services/chromium.ts';

/** The SDK bundle is served at /sdk.js; (re)build it before the app starts. */
async function buildSdkBundle(): Promise<void> {
  const build = path.join(ROOT, 'tracker-sdk/scripts/build.ts');
  if (!fs.existsSync(build)) return;
  const mod = (await import(build)) as { buildSdk?: () => Promise<unknown> };
  await mod.buildSdk?.();
}

/** One plain closing line with the totals, whatever reporter ran. */
function printTotals(report: string): void {
  try {
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
    };
    console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  } catch {
    console.log('\ntests: no vitest report was written (the run failed before any test)');
  }
}

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
      await buildSdkBundle();
      await import('./serve.ts');
      return -1; // keeps running until a signal
    }
    case 'test': {
      console.log(`test: node ${process.version}`);
      await servicesUp(cfg);
      await buildSdkBundle();
      ensureChromium();
      const report = path.join(ROOT, '.local', 'vitest-report.json');
      fs.rmSync(report, { force: true });
      const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...(sub ? [sub, ...rest] : [])];
      const code = await new Promise<number>((resolve) => {
        const child = spawn('vitest', args, { stdio: 'inherit', cwd: ROOT, env: process.env });
        child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      printTotals(report);
      return code;
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
