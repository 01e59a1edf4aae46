/**
 * `npm run loadtest -- <scenario> [--k6 args...]`: finds or builds k6, then runs
 * loadtest/k6/<scenario>.js against BASE_URL (default http://localhost:3000).
 * Writes the k6 JSON summary to loadtest/results/<scenario>-<time>.json and
 * prints a short table. Exits with k6's code (99 = a threshold failed).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureK6, K6SetupError, ROOT } from './k6.ts';

export const SCENARIOS = ['ingest', 'homepage', 'freshness', 'soak', 'smoke'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const RESULTS_DIR = path.join(ROOT, 'loadtest', 'results');

export interface RunOptions {
  baseUrl?: string;
  env?: Record<string, string>;
  summaryPath?: string;
  extraArgs?: string[];
  quiet?: boolean;
}

export async function runScenario(
  scenario: Scenario,
  opts: RunOptions = {},
): Promise<{ code: number; summaryPath: string; output: string }> {
  const k6 = ensureK6();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const summaryPath = opts.summaryPath ?? path.join(RESULTS_DIR, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const env = {
    BASE_URL: opts.baseUrl ?? process.env.BASE_URL ?? 'http://localhost:3000',
    SCENARIO: scenario,
    SUMMARY_PATH: summaryPath,
    ...opts.env,
  };
  const args = [
    'run',
    '--no-usage-report',
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(opts.extraArgs ?? []),
    path.join(ROOT, 'loadtest', 'k6', `${scenario}.js`),
  ];
  let output = '';
  const code = await new Promise<number>((resolve) => {
    const child = spawn(k6, args, { env: { ...process.env, K6_NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!opts.quiet) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      if (!opts.quiet) process.stderr.write(d);
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  return { code, summaryPath, output };
}

async function main(argv: string[]): Promise<number> {
  const [scenario, ...rest] = argv;
  if (!scenario || !(SCENARIOS as readonly string[]).includes(scenario)) {
    console.error(`usage: npm run loadtest -- <${SCENARIOS.join('|')}> [k6 options]`);
    return 2;
  }
  const { code, summaryPath } = await runScenario(scenario as Scenario, { extraArgs: rest });
  console.log(`summary: ${path.relative(process.cwd(), summaryPath)} (k6 exit ${code})`);
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (err: unknown) => {
      console.error(err instanceof K6SetupError ? `error: ${err.message}` : err);
      process.exit(1);
    },
  );
}
