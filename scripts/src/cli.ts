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

/**
 * k6 is built with Go on its first use (minutes, synchronously): do it before
 * vitest starts, so no test worker is blocked that long (vitest then times
 * out its own worker RPC and reports an error although the test passed).
 */
async function ensureK6Binary(): Promise<void> {
  const k6 = path.join(ROOT, 'loadtest/src/k6.ts');
  if (!fs.existsSync(k6)) return;
  const mod = (await import(k6)) as { ensureK6?: () => string };
  try {
    mod.ensureK6?.();
  } catch (err) {
    // The load-test files fail with this message themselves; the other suites still run.
    console.error(`test: ${(err as Error).message}`);
  }
}

/** One plain closing line with the totals of every vitest run, whatever reporter ran. */
function printTotals(reports: string[]): void {
  const t = { passed: 0, failed: 0, skipped: 0, missing: 0 };
  for (const report of reports) {
    try {
      const r = JSON.parse(fs.readFileSync(report, 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        numPendingTests: number;
        numTodoTests: number;
      };
      t.passed += r.numPassedTests;
      t.failed += r.numFailedTests;
      t.skipped += r.numPendingTests + r.numTodoTests;
    } catch {
      t.missing++;
    }
  }
  if (t.missing) console.log(`\n${t.missing} vitest run(s) wrote no report (they failed before any test ran)`);
  console.log(`\ntests: ${t.passed} passed, ${t.failed + t.missing} failed, ${t.skipped} skipped`);
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
      await ensureK6Binary();
      // Without arguments: unit + integration (two files at a time), then the
      // fault suite one file at a time, since it starts and breaks its own services.
      const runs = sub
        ? [[sub, ...rest]]
        : [
            ['--project', 'unit', '--project', 'integration'],
            ['--project', 'faults', '--no-file-parallelism'],
          ];
      let code = 0;
      const reports: string[] = [];
      for (const [i, extra] of runs.entries()) {
        const report = path.join(ROOT, '.local', `vitest-report-${i}.json`);
        fs.rmSync(report, { force: true });
        reports.push(report);
        const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra];
        const c = await new Promise<number>((resolve) => {
          const child = spawn('vitest', args, { stdio: 'inherit', cwd: ROOT, env: process.env });
          child.on('exit', (x, signal) => resolve(x ?? (signal ? 1 : 0)));
        });
        code = Math.max(code, c);
      }
      printTotals(reports);
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
