/**
 * Shared frame of a fault scenario: private Kafka + Redis + the real app, the
 * short/full switch, and a one-line summary per scenario that
 * RELIABILITY.md quotes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/src/paths.ts';

/** `npm run test:faults` sets FAULTS_FULL=1; `npm test` runs the short form. */
export const FULL = process.env.FAULTS_FULL === '1';

export function pick<T>(short: T, full: T): T {
  return FULL ? full : short;
}

/** Appends a scenario's measured figures to .local/faults-results.jsonl (git-ignored) and prints them. */
export function record(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ at: new Date().toISOString(), mode: FULL ? 'full' : 'short', scenario, ...figures });
  console.log(`[faults] ${line}`);
  try {
    const dir = path.join(ROOT, '.local');
    fs.mkdirSync(dir, { recursive: true });
    fs.appendFileSync(path.join(dir, 'faults-results.jsonl'), line + '\n');
  } catch {
    // the figures are in the test output too
  }
}

/** Keeps the app's log of the last run of a scenario file in .local/faults-logs/ for diagnosis. */
export function saveOutput(name: string, text: string): void {
  try {
    const dir = path.join(ROOT, '.local', 'faults-logs');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.log`), text);
  } catch {
    // diagnosis only
  }
}
