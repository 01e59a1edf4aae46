/**
 * Before/after on the same data, interleaved so all see the same machine
 * load: each report changed by migrations 0004/0005 against its SQL before
 * 0004 (test/reference/*.sql) and, for the three reports 0005 concerns, its
 * 0004 SQL (bench/sql-0004/*.sql), with a check that all give the same rows.
 * The search-outcomes closer (0005) runs first, timed, as the analytics
 * processor runs it.
 *
 *   BENCH_DIR=/tmp/wh npm run bench -w warehouse        # generates 10M events and keeps them
 *   BENCH_DIR=/tmp/wh npm run bench:compare -w warehouse # BENCH_RUNS=7
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeSearchOutcomes, createWarehouseClient, migrate, runReport } from '../src/index.ts';
import { expandMacros, findReport, resolveParams } from '../src/reports/catalog.ts';

const dir = process.env.BENCH_DIR;
if (!dir || !fs.existsSync(path.join(dir, 'clickhouse')))
  throw new Error('set BENCH_DIR to a folder filled by `npm run bench` with BENCH_DIR');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const w = createWarehouseClient({ dataDir: dir });
const tm = performance.now();
const mig = await migrate(w.client, {});
if (mig.applied.length) console.log(`migrations ${mig.applied.join(', ')} applied in ${((performance.now() - tm) / 1000).toFixed(1)} s`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(`embedded chDB at ${w.location}; load ${load()}`);
const closed = await closeSearchOutcomes(w.client);
console.log(
  `search outcomes closer: horizon ${closed.horizon}, ${closed.days.length} days (${closed.lateDays.length} re-closed as late) in ${(closed.elapsedMs / 1000).toFixed(1)} s; load ${load()}`,
);
const now = Date.now();

async function reference(name: string, input: Record<string, string>, folder = '../test/reference/'): Promise<unknown[]> {
  const params = resolveParams(findReport(name), input, now);
  const sql = expandMacros(fs.readFileSync(new URL(`${folder}${name}.sql`, import.meta.url), 'utf8'));
  const used = new Set([...sql.matchAll(/\{(\w+):/g)].map((m) => m[1]!));
  const rs = await w.client.query({
    query: sql,
    query_params: Object.fromEntries(Object.entries(params.query).filter(([k]) => used.has(k))),
    format: 'JSONEachRow',
    abort_signal: AbortSignal.timeout(300_000),
  });
  return (await rs.json<Record<string, unknown>>()).map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cases: [string, Record<string, string>][] = [
  ['content-gaps', {}],
  ['search-conversion', {}],
  ['top-clicks', {}],
  ['active-visitors', {}],
  ['active-visitors', { interval: 'hour' }],
  ['content-gaps', { since: '24h' }],
  ['search-conversion', { since: '24h' }],
  ['content-gaps', { site: '' }],
  ['search-conversion', { site: '' }],
];
// The reports 0005 changed, as they were in 0004 (the others still are).
const SQL_0004 = new Set(['content-gaps', 'search-conversion']);
const max = (xs: number[]) => Math.max(...xs);
console.log(`${RUNS} interleaved runs each, since=7d site=shop-a unless shown; ms, median / max`);
console.log('report                          before 0004      0004 SQL           now  same rows');
for (const [name, extra] of cases) {
  const input = { since: '7d', site: 'shop-a', ...extra };
  const before: number[] = [];
  const mid: number[] = [];
  const after: number[] = [];
  let same = true;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const old = await reference(name, input);
    before.push(performance.now() - t);
    if (SQL_0004.has(name)) {
      t = performance.now();
      const prev = await reference(name, input, './sql-0004/');
      mid.push(performance.now() - t);
      same &&= JSON.stringify(prev) === JSON.stringify(old);
    }
    t = performance.now();
    const res = await runReport(w.client, name, input, { now, timeoutMs: 300_000 });
    after.push(performance.now() - t);
    same &&= JSON.stringify(res.rows) === JSON.stringify(old);
  }
  const label = `${name}${Object.keys(extra).length ? ` ${new URLSearchParams(extra).toString()}` : ''}`;
  const cell = (xs: number[]) => (xs.length ? `${median(xs).toFixed(0)} / ${max(xs).toFixed(0)}` : '–').padStart(13);
  console.log(`${label.padEnd(30)} ${cell(before)} ${cell(mid)} ${cell(after)}  ${same ? 'yes' : 'NO'}`);
}
console.log(`load ${load()}`);
await w.close();
