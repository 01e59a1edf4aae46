/**
 * Times one report's SQL on kept bench data (a folder filled by
 * `BENCH_DIR=… npm run bench -w warehouse`), for before/after comparisons
 * across schema versions, which need two copies of the data:
 *
 *   cp -a /tmp/wh /tmp/wh-before                                   # before migrating
 *   git show <old commit>:warehouse/reports/content-gaps.sql > /tmp/cg-before.sql
 *   BENCH_DIR=/tmp/wh npm run bench:report-time -w warehouse      # migrates, closes, times
 *   BENCH_DIR=/tmp/wh-before BENCH_NO_MIGRATE=1 BENCH_SQL=/tmp/cg-before.sql npm run bench:report-time -w warehouse
 *
 * (alternate the two a few times). Prints median / min / max ms per site and
 * a hash of the rows, which must match between the two.
 * BENCH_REPORT (default content-gaps), BENCH_SITES (default `shop-a,` = shop-a
 * and all sites), BENCH_RUNS (default 9), BENCH_NOW (ISO; default now) sets
 * the end of the 7-day range, so that runs minutes apart read the same rows.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { closeSearchOutcomes, createWarehouseClient, migrate } from '../src/index.ts';
import { expandMacros, findReport, reportSql, resolveParams } from '../src/reports/catalog.ts';

const dir = process.env.BENCH_DIR;
if (!dir) throw new Error('set BENCH_DIR to a folder filled by `npm run bench` with BENCH_DIR');
const name = process.env.BENCH_REPORT ?? 'content-gaps';
const runs = Number(process.env.BENCH_RUNS ?? 9);
const now = process.env.BENCH_NOW ? Date.parse(process.env.BENCH_NOW) : Date.now();
const w = createWarehouseClient({ dataDir: dir });
if (!process.env.BENCH_NO_MIGRATE) {
  const m = await migrate(w.client, {});
  const c = await closeSearchOutcomes(w.client);
  console.log(
    `migrations applied: ${m.applied.join(', ') || 'none'}; closer: horizon ${c.horizon}, ${c.days.length} days in ${(c.elapsedMs / 1000).toFixed(1)} s`,
  );
}
const sql = process.env.BENCH_SQL ? expandMacros(fs.readFileSync(process.env.BENCH_SQL, 'utf8')) : reportSql(name);
const used = new Set([...sql.matchAll(/\{(\w+):/g)].map((m) => m[1]!));
for (const site of (process.env.BENCH_SITES ?? 'shop-a,').split(',')) {
  const params = resolveParams(findReport(name), { since: '7d', site }, now).query;
  const query_params = Object.fromEntries(Object.entries(params).filter(([k]) => used.has(k)));
  const ms: number[] = [];
  let rows = '';
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const rs = await w.client.query({ query: sql, query_params, format: 'JSONEachRow' });
    rows = JSON.stringify(await rs.json());
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const hash = createHash('sha1').update(rows).digest('hex').slice(0, 10);
  const f = (x: number) => x.toFixed(0);
  console.log(
    `${name} site=${site || "''"}: median ${f(ms[Math.floor(runs / 2)]!)} min ${f(ms[0]!)} max ${f(ms[runs - 1]!)} ms; rows ${hash}; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
}
await w.close();
