import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture } from '../fixtures.ts';
import { startReportsApp } from './harness.ts';

const run = promisify(execFile);
const PKG = fileURLToPath(new URL('../../', import.meta.url));
let app: Awaited<ReturnType<typeof startReportsApp>>;
const other = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-cli-'));

async function cli(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: PKG,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  app = await startReportsApp();
  await loadFixture(app.warehouse.client);
});
afterAll(async () => {
  await app?.close();
  fs.rmSync(other, { recursive: true, force: true });
});

describe('report CLI', () => {
  it('asks the running app and prints a table', async () => {
    const r = await cli(['top-searches', '--since', '2026-11-20', '--until', '2026-11-21', '--site', 'shop-a'], { BASE_URL: app.baseUrl });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      'keyword               searches  visitors',
      '--------------------  --------  --------',
      'humidifier                   3         2',
    ]);
    expect(r.stderr).toContain(`3 row(s) from ${app.baseUrl}`);
  });

  it('falls back to opening DATA_DIR itself when no app answers', async () => {
    const migrated = await run(process.execPath, ['--import', 'tsx', 'src/migrate-cli.ts'], {
      cwd: PKG,
      env: { ...process.env, BASE_URL: 'http://127.0.0.1:9', DATA_DIR: other, INIT_CWD: PKG },
    });
    expect(migrated.stdout).toContain('applied 0001_events.sql, 0002_rollups.sql');
    const r = await cli(['top-pages', '--since', '1h', '--json'], { BASE_URL: 'http://127.0.0.1:9', DATA_DIR: other, INIT_CWD: PKG });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ report: 'top-pages', rows: [] });
  });

  it('exits with 2 and the reason on a bad parameter', async () => {
    const r = await cli(['top-searches', '--since', 'last tuesday'], { BASE_URL: app.baseUrl });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/report failed: parameter since expected a relative time/);
  });
});
