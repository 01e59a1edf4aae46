import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../scripts/src/testing/app.ts';
import { runScenario } from '../../src/cli.ts';
import { ensureK6 } from '../../src/k6.ts';

let app: TestApp;

interface Summary {
  metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
}

describe('the k6 smoke scenario against the running app', () => {
  beforeAll(async () => {
    ensureK6((l) => console.log(l)); // builds k6 once if missing, outside the test's own timeout
    app = await startTestApp();
  }, 600_000);
  afterAll(async () => {
    await app?.stop();
  });

  it('passes every threshold: ingest, homepage, freshness and the metrics probe', async () => {
    const run = await runScenario('smoke', { baseUrl: app.baseUrl, env: { STAGE_SECONDS: '15' }, quiet: true });
    const summary = JSON.parse(fs.readFileSync(run.summaryPath, 'utf8')) as Summary;
    fs.rmSync(run.summaryPath, { force: true });
    expect(run.code, run.output.slice(-3000)).toBe(0);
    const m = summary.metrics;
    expect(m.events_sent!.values.count).toBeGreaterThan(300);
    expect(m.freshness_ms!.values.count).toBeGreaterThan(30);
    expect(m.http_req_failed!.values.rate).toBe(0);
    for (const [name, metric] of Object.entries(m)) {
      for (const [expr, t] of Object.entries(metric.thresholds ?? {})) expect(t.ok, `${name}: ${expr}`).toBe(true);
    }
    expect(run.output).toContain('thresholds                         all passed');
  }, 180_000);
});
