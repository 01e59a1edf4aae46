/**
 * Before/after on the same data, interleaved so both see the same machine
 * load: each report changed by migration 0004 against its previous SQL
 * (test/reference/*.sql), with a check that both give the same rows.
 *
 *   BENCH_DIR=/tmp/wh npm run bench -w warehouse        # generates 10M events and keeps them
 *   BENCH_DIR=/tmp/wh npm run bench:compare -w warehouse # BENCH_RUNS=7
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWarehouseClient, migrate, runReport } from '../src/index.ts';
import { findReport, resolveParams, rollupRange } from '../src/reports/catalog.ts';

const dir = process.env.BENCH_DIR;
if (!dir || !fs.existsSync(path.join(dir, 'clickhouse')))
  throw new Error('set BENCH_DIR to a folder filled by `npm run bench` with BENCH_DIR');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const w = createWarehouseClient({ dataDir: dir });
await migrate(w.client, {});
const now = Date.now();
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(`embedded chDB at ${w.location}; load ${load()}`);

async function reference(name: string, input: Record<string, string>): Promise<unknown[]> {
  const params = resolveParams(findReport(name), input, now);
  const sql = fs
    .readFileSync(new URL(`../test/reference/${name}.sql`, import.meta.url), 'utf8')
    .replace(/\{\{ROLLUP_RANGE:([a-z_,]+)\}\}/g, (_m, list: string) => rollupRange(list.split(',')));
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
];
console.log(`${RUNS} interleaved runs each, since=7d site=shop-a unless shown; ms`);
console.log('report                         before median  after median  same rows');
for (const [name, extra] of cases) {
  const input = { since: '7d', site: 'shop-a', ...extra };
  const before: number[] = [];
  const after: number[] = [];
  let same = true;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const old = await reference(name, input);
    before.push(performance.now() - t);
    t = performance.now();
    const res = await runReport(w.client, name, input, { now, timeoutMs: 300_000 });
    after.push(performance.now() - t);
    same &&= JSON.stringify(res.rows) === JSON.stringify(old);
  }
  const label = `${name}${Object.keys(extra).length ? ` ${new URLSearchParams(extra).toString()}` : ''}`;
  console.log(
    `${label.padEnd(30)} ${median(before).toFixed(0).padStart(13)} ${median(after).toFixed(0).padStart(13)}  ${same ? 'yes' : 'NO'}`,
  );
}
console.log(`load ${load()}`);
await w.close();
