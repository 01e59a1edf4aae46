/**
 * Warehouse benchmark (embedded chDB, one process):
 *  1. sustained insert rate of JSONEachRow batches through the events table
 *     and its materialized view, as the analytics processor sends them;
 *  2. 10 million generated events (ClickHouse numbers(), spread over 7 days,
 *     through the same materialized view), then each report's latency.
 *
 *   npm run bench -w warehouse            # BENCH_EVENTS=10000000 BENCH_INSERT_ROWS=1000000
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createWarehouseClient, migrate, REPORTS, runReport } from '../src/index.ts';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const INSERT_ROWS = Number(process.env.BENCH_INSERT_ROWS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH_ROWS ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

// BENCH_DIR: keep the data in this folder and, when it already holds the
// generated events, skip steps 1-2 and only time the reports (after applying
// any new migrations).
const keepDir = process.env.BENCH_DIR;
const reuse = keepDir !== undefined && fs.existsSync(path.join(keepDir, 'clickhouse'));
const dir = keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-'));
fs.mkdirSync(dir, { recursive: true });
const w = createWarehouseClient({ dataDir: dir });
const c = w.client;
await migrate(c, {});
console.log(`embedded chDB at ${w.location}; ${os.cpus().length} CPUs, node ${process.version}`);

if (!reuse) {
  // 1. Insert rate, JSONEachRow batches with dedup tokens (what the processor sends).
  const now = Date.now();
  const chDate = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
  const types = ['page_view', 'search', 'click', 'scroll', 'promotion_view'];
  function line(i: number): string {
    const type = types[i % types.length]!;
    const date = chDate(now - (i % 3_600_000));
    return JSON.stringify({
      event_id: `ins-${i}`,
      type,
      date,
      received_at: date,
      site: 'insert-bench',
      user_key: `a:v${i % 50_000}`,
      anonymous_id: `v${i % 50_000}`,
      session_id: `s${Math.floor(i / 20)}`,
      page_url: `https://shop.example/p/${i % 500}`,
      page_path: `/p/${i % 500}`,
      search_keyword: type === 'search' ? `keyword ${i % 300}` : '',
      element_tag: type === 'click' ? 'a' : '',
      product_id: type === 'click' ? `sku-${i % 1000}` : '',
      promotion_ids: type === 'promotion_view' ? [`promo-${i % 20}`] : [],
      personalized: type === 'promotion_view' ? i % 2 : null,
      depth_pct: type === 'scroll' ? (i * 7) % 101 : null,
      is_bot: 0,
      user_agent: 'Mozilla/5.0 (bench)',
      properties: { page_title: 'Product page' },
    });
  }
  const batches: string[] = [];
  for (let b = 0; b < INSERT_ROWS / BATCH; b++) {
    const lines: string[] = [];
    for (let i = b * BATCH; i < (b + 1) * BATCH; i++) lines.push(line(i));
    batches.push(lines.join('\n'));
  }
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  const t0 = performance.now();
  for (let b = 0; b < batches.length; b++) {
    const r = await c.exec({
      query: `INSERT INTO activity.events SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'bench:0:${b}' FORMAT JSONEachRow`,
      values: Readable.from([batches[b]!]),
    });
    r.stream.resume();
  }
  const insertSecs = (performance.now() - t0) / 1000;
  console.log(
    `\n1. insert: ${INSERT_ROWS.toLocaleString()} rows in ${batches.length} batches of ${BATCH.toLocaleString()} (${(bytes / 1e6).toFixed(0)} MB JSON): ` +
      `${insertSecs.toFixed(1)} s = ${Math.round(INSERT_ROWS / insertSecs).toLocaleString()} rows/s`,
  );

  // 2. 10M events over the last 7 days, generated inside the engine.
  const t1 = performance.now();
  await c.command({
    query: `
  INSERT INTO activity.events (event_id, type, date, received_at, site, user_key, anonymous_id, session_id, page_url, page_path,
                               search_keyword, results_count, element_tag, element_text, product_id, promotion_id, promotion_ids, personalized, depth_pct, is_bot)
  SELECT
    concat('gen-', toString(number)) AS event_id,
    ['page_view', 'page_view', 'search', 'click', 'scroll', 'scroll', 'promotion_view', 'click'][number % 8 + 1] AS type,
    now64(3) - toIntervalMillisecond(intDiv(number * 604800000, ${TOTAL})) AS date,
    date AS received_at,
    ['shop-a', 'shop-b'][cityHash64(number, 9) % 2 + 1] AS site,
    concat('a:v', toString(cityHash64(number) % 300000)) AS user_key,
    concat('v', toString(cityHash64(number) % 300000)) AS anonymous_id,
    concat('s', toString(intDiv(number, 25) % 2000000)) AS session_id,
    concat('https://shop.example/p/', toString(number % 700)) AS page_url,
    concat('/p/', toString(number % 700)) AS page_path,
    if(type = 'search', concat(['humidifier', 'desk lamp', 'air purifier', 'kettle', 'fan', 'heater'][cityHash64(number, 1) % 6 + 1], ' ', toString(cityHash64(number, 2) % 400)), '') AS search_keyword,
    if(type = 'search', toUInt32(cityHash64(number, 3) % 30), NULL) AS results_count,
    if(type = 'click', 'a', '') AS element_tag,
    if(type = 'click', 'Buy', '') AS element_text,
    if(type = 'click' AND number % 3 != 0, concat('sku-', toString(number % 5000)), '') AS product_id,
    if(type = 'click' AND number % 3 = 0, concat('promo-', toString(number % 30)), '') AS promotion_id,
    if(type = 'promotion_view', [concat('promo-', toString(number % 30)), concat('promo-', toString((number + 7) % 30))], []) AS promotion_ids,
    if(type IN ('promotion_view', 'click'), toUInt8(cityHash64(number, 5) % 2), NULL) AS personalized,
    if(type = 'scroll', toUInt8((number * 7) % 101), NULL) AS depth_pct,
    toUInt8(number % 100 = 0) AS is_bot
  FROM numbers(${TOTAL})
  SETTINGS insert_deduplicate = 0, max_insert_threads = 2`,
    clickhouse_settings: {},
  });
  const genSecs = (performance.now() - t1) / 1000;
  const [{ n, r } = { n: '0', r: '0' }] = await (
    await c.query({
      query: 'SELECT (SELECT count() FROM activity.events) AS n, (SELECT count() FROM activity.rollups) AS r',
      format: 'JSONEachRow',
    })
  ).json<{ n: string; r: string }>();
  console.log(
    `2. generated ${TOTAL.toLocaleString()} events through the view in ${genSecs.toFixed(1)} s (${Math.round(TOTAL / genSecs).toLocaleString()} rows/s); ` +
      `events table ${Number(n).toLocaleString()} rows, rollups ${Number(r).toLocaleString()} rows`,
  );
  await c.command({ query: 'OPTIMIZE TABLE activity.rollups FINAL' }).catch(() => {});
  const [{ r2 } = { r2: '0' }] = await (
    await c.query({ query: 'SELECT count() AS r2 FROM activity.rollups', format: 'JSONEachRow' })
  ).json<{ r2: string }>();
  console.log(`   rollups after merge: ${Number(r2).toLocaleString()} rows`);
}

console.log(`\n3. report latency over 7 days, site shop-a (${RUNS} runs each; ms, median / max):`);
console.log('   report              rows   median     max   source');
for (const def of REPORTS) {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const res = await runReport(c, def.name, { since: '7d', site: 'shop-a' }, { timeoutMs: 120_000 });
    times.push(performance.now() - t);
    rows = res.rows.length;
  }
  times.sort((a, b) => a - b);
  console.log(
    `   ${def.name.padEnd(18)} ${String(rows).padStart(5)} ${times[Math.floor(times.length / 2)]!.toFixed(1).padStart(8)} ${times[times.length - 1]!.toFixed(1).padStart(7)}   ${def.raw ? 'outcomes cache + raw tail' : 'rollups'}`,
  );
}
await w.close();
if (keepDir === undefined) fs.rmSync(dir, { recursive: true, force: true });
