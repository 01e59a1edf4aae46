import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/cli.ts';
import { ensureK6 } from '../../src/k6.ts';

/**
 * A stand-in for the app whose promotions turn personalized exactly DELAY ms
 * after the search arrived: the probe must report that delay, so a broken
 * probe (one that stops its clock too early, or counts unanswered polls)
 * cannot report a good number.
 */
function fakeApp(delayMs: number) {
  const searchedAt = new Map<string, number>();
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/batch') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const batch = JSON.parse(body) as { events: { anonymous_id: string; type: string }[] };
        for (const e of batch.events)
          if (e.type === 'search' && !searchedAt.has(e.anonymous_id)) searchedAt.set(e.anonymous_id, Date.now());
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length, rejected: [] }));
      });
      return;
    }
    const m = /^\/v1\/promotions\/([^?]+)/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      const at = searchedAt.get(decodeURIComponent(m[1]!));
      const visible = at !== undefined && Date.now() - at >= delayMs;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          personalized: visible,
          as_of: Date.now(),
          promotions: [
            visible
              ? { id: 'promo-hum-1', title: 'Humidifier deal', url: '/deals/humidifiers', reason: 'you searched humidifier', score: 1 }
              : { id: 'promo-def', title: 'Default', url: '/', reason: 'popular', score: 0 },
          ],
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return server;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('the freshness probe', () => {
  beforeAll(() => {
    ensureK6((l) => console.log(l));
  }, 600_000);

  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function measure(delayMs: number) {
    const server = fakeApp(delayMs);
    servers.push(server);
    const base = await listen(server);
    const run = await runScenario('freshness', {
      baseUrl: base,
      quiet: true,
      env: { DURATION: '4s', BACKGROUND_EPS: '200', PROBES_PER_S: '10', POLL_MS: '5' },
    });
    const summary = JSON.parse(fs.readFileSync(run.summaryPath, 'utf8')) as { metrics: Record<string, { values: Record<string, number> }> };
    fs.rmSync(run.summaryPath, { force: true });
    return { code: run.code, f: summary.metrics.freshness_ms!.values, output: run.output };
  }

  it('reports an injected 400 ms delay as about 400 ms, and fails the 250 ms threshold', async () => {
    const { code, f, output } = await measure(400);
    expect(f.count, output.slice(-2000)).toBeGreaterThan(20);
    expect(f.min).toBeGreaterThanOrEqual(400);
    expect(f.med).toBeLessThan(400 + 60);
    expect(code).toBe(99); // k6: thresholds crossed
  }, 120_000);

  it('reports an injected 50 ms delay as about 50 ms, and passes', async () => {
    const { code, f, output } = await measure(50);
    expect(f.count, output.slice(-2000)).toBeGreaterThan(20);
    expect(f.min).toBeGreaterThanOrEqual(50);
    expect(f['p(99)']).toBeLessThan(250);
    expect(code).toBe(0);
  }, 120_000);
});
