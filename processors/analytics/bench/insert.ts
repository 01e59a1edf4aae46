/**
 * Insert-path benchmark: the analytics sink's batches (50,000 rows by
 * default) into embedded chDB through @clickhouse/client, in several input
 * formats, through the events table and its materialized views (a freshly
 * migrated database per variant), plus the JS side of the cost (mapping a
 * Kafka message to a row, and serializing the row).
 *
 *   npm run bench:insert -w processors/analytics   # BENCH_ROWS=500000 BENCH_BATCH_ROWS=50000 BENCH_VARIANTS=a,b
 *
 * BENCH_CONCURRENCY=1,2,3 runs each variant with that many inserts in flight
 * (over one client, or spread over BENCH_CONNECTIONS chDB connections to the
 * same data directory); BENCH_RUNS=3 repeats the whole set, interleaved.
 * After each run into a table, the first two batches are inserted again with
 * their tokens, max(2, concurrency) inserts at once (so the same token runs in
 * parallel on different connections), and the row count must not change.
 *
 * The `sink` variant is the processor's own insert (`createClickHouseSink`
 * over `createWarehouseClient({ connections: BENCH_CONNECTIONS })`, so chDB's
 * raw insert on the least busy connection); its time includes joining the
 * lines into the body.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createChdbConnection } from 'chdb/connection';
import { createWarehouseClient, migrate, MIGRATIONS_DIR, type ClickHouseClient } from '@storepulse/warehouse';
import { decodeMessage, EVENT_COLUMNS, toJsonLine, toTsvLine } from '../src/event.ts';
import { createClickHouseSink } from '../src/sink.ts';
import type { BatchRow } from '../src/batch.ts';
import type { EventRow } from '@storepulse/contracts';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const BATCH = Number(process.env.BENCH_BATCH_ROWS ?? 50_000);
const ONLY = process.env.BENCH_VARIANTS?.split(',');
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1);

// 1. Messages like the ones the processor consumes (enriched events, JSON).
const types = ['page_view', 'page_view', 'search', 'click', 'scroll', 'promotion_view'] as const;
const t0 = Date.now() - 3_600_000;
const messages: Buffer[] = [];
for (let i = 0; i < ROWS; i++) {
  const type = types[i % types.length]!;
  const date = t0 + Math.floor(i / 10);
  messages.push(
    Buffer.from(
      JSON.stringify({
        event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        type,
        timestamp: date,
        date,
        received_at: date + 5,
        sent_at: date,
        anonymous_id: `v${i % 20_000}`,
        user_id: i % 7 === 0 ? `u${i % 3000}` : null,
        user_verified: i % 14 === 0,
        session_id: `s${Math.floor(i / 30)}`,
        site: 'bench',
        page_url: `https://shop.example/p/${i % 300}?ref=home`,
        page_path: `/p/${i % 300}`,
        page_title: 'Product page',
        referrer: i % 5 === 0 ? 'https://search.example/' : '',
        context: { is_bot: false, locale: 'en-US', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench', country: 'de' },
        ...(type === 'search' ? { search_keyword: `kw ${i % 200}`, results_count: i % 13 } : {}),
        ...(type === 'scroll' ? { depth_pct: (i * 7) % 101 } : {}),
        ...(type === 'click' ? { element: { tag: 'a', text: 'Add to cart', product_id: `sku-${i % 500}`, selector: 'main > a.buy' } } : {}),
        ...(type === 'promotion_view' ? { promotion_ids: [`promo-${i % 20}`, `promo-${(i + 3) % 20}`], personalized: i % 2 === 0 } : {}),
      }),
    ),
  );
}

// 2. JS side: message -> row (parse + map) and row -> text, per format.
function timeIt<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}
const [rows, mapMs] = timeIt(() =>
  messages.map((m) => {
    const d = decodeMessage(m);
    if (!d.ok) throw new Error(d.reason);
    return d.row;
  }),
);

const COLUMNS = Object.keys(rows[0]!) as (keyof EventRow)[];
function compactLine(r: EventRow): string {
  const o = JSON.parse(toJsonLine(r)) as Record<string, unknown>;
  return JSON.stringify(COLUMNS.map((c) => o[c]));
}
function sparseLine(r: EventRow): string {
  const o = JSON.parse(toJsonLine(r)) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === '' || v === null || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return JSON.stringify(o);
}

interface Variant {
  name: string;
  format: string;
  line: (r: EventRow) => string;
  settings?: string;
  table?: string;
  /** 'pre0004': the schema before migration 0004 (one view instead of two). */
  schema?: 'pre0004';
  /** Materialized views detached after migrating (their cost is then left out). */
  detach?: string[];
  /** chdb's raw insert (`connection.chdb.rawInsert`): the body as a Buffer, no SQL string concatenation. */
  raw?: boolean;
  /** false: insert_deduplicate = 0 and no token (to measure what dedup costs; not what the sink does). */
  dedup?: false;
  /** The processor's sink (src/sink.ts) on a pooled WarehouseClient. */
  sink?: boolean;
}
const variants: Variant[] = [
  { name: 'json-pre0004', format: 'JSONEachRow', line: toJsonLine, schema: 'pre0004' },
  { name: 'tsv-pre0004', format: 'TabSeparated', line: toTsvLine, schema: 'pre0004' },
  { name: 'json', format: 'JSONEachRow', line: toJsonLine },
  { name: 'json-null', format: 'JSONEachRow', line: toJsonLine, table: 'null' },
  { name: 'json-sparse', format: 'JSONEachRow', line: sparseLine },
  { name: 'json-compact', format: 'JSONCompactEachRow', line: compactLine },
  { name: 'tsv', format: 'TabSeparated', line: toTsvLine },
  { name: 'tsv-null', format: 'TabSeparated', line: toTsvLine, table: 'null' },
  { name: 'tsv-noparallel', format: 'TabSeparated', line: toTsvLine, settings: 'input_format_parallel_parsing = 0' },
  { name: 'json-noparallel', format: 'JSONEachRow', line: toJsonLine, settings: 'input_format_parallel_parsing = 0' },
  {
    name: 'tsv-minblock',
    format: 'TabSeparated',
    line: toTsvLine,
    settings: 'min_insert_block_size_rows = 0, min_insert_block_size_bytes = 0',
  },
  { name: 'tsv-async', format: 'TabSeparated', line: toTsvLine, settings: 'async_insert = 1, wait_for_async_insert = 1' },
  { name: 'tsv-raw', format: 'TabSeparated', line: toTsvLine, raw: true },
  { name: 'sink', format: 'TabSeparated', line: toTsvLine, sink: true },
  { name: 'tsv-noviews', format: 'TabSeparated', line: toTsvLine, detach: ['rollups_mv', 'search_clicks_mv'] },
  { name: 'tsv-rollupsmv', format: 'TabSeparated', line: toTsvLine, detach: ['search_clicks_mv'] },
  { name: 'tsv-searchmv', format: 'TabSeparated', line: toTsvLine, detach: ['rollups_mv'] },
  { name: 'tsv-parviews', format: 'TabSeparated', line: toTsvLine, settings: 'parallel_view_processing = 1' },
  { name: 'tsv-nooptimize', format: 'TabSeparated', line: toTsvLine, settings: 'optimize_on_insert = 0' },
  { name: 'tsv-threads1', format: 'TabSeparated', line: toTsvLine, settings: 'max_threads = 1' },
  { name: 'tsv-nodedup', format: 'TabSeparated', line: toTsvLine, dedup: false },
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-insert-bench-'));
const pre0004 = path.join(dir, 'migrations-pre0004');
fs.mkdirSync(pre0004);
for (const f of fs.readdirSync(MIGRATIONS_DIR).filter((f) => f < '0004'))
  fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(pre0004, f));
const w = createWarehouseClient({ dataDir: dir });
const c = w.client;
// Extra connections to the same data directory (chDB allows several; they share one engine).
const extra = Array.from({ length: Math.max(0, CONNECTIONS - 1) }, () => createWarehouseClient({ dataDir: dir }));
const clients: ClickHouseClient[] = [c, ...extra.map((x) => x.client)];
const rawConns = Array.from({ length: CONNECTIONS }, () => createChdbConnection({ path: w.location }));
// The processor's client: CONNECTIONS connections behind one pool (src/main.ts).
const pooled = createWarehouseClient({ dataDir: dir, connections: CONNECTIONS });
console.log(
  `embedded chDB at ${w.location}; ${os.cpus().length} CPUs, node ${process.version}; ${CONNECTIONS} connection(s); load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${ROWS.toLocaleString()} rows in batches of ${BATCH.toLocaleString()}; message -> row (JSON.parse + toEventRow): ${((mapMs * 1000) / ROWS).toFixed(2)} µs/row`,
);
console.log(
  'run variant            format              conc serialize µs/row  MB     insert s   rows/s     engine µs/row  ms/insert  cpu µs/row  cores  load1',
);

const serialized = new Map<string, { bodies: string[]; buffers: Buffer[]; batches: BatchRow[][]; serMs: number; mb: number }>();
function bodiesOf(v: Variant) {
  let s = serialized.get(v.name);
  if (!s) {
    const [bodies, serMs] = timeIt(() => {
      const out: string[] = [];
      for (let b = 0; b < rows.length; b += BATCH)
        out.push(
          rows
            .slice(b, b + BATCH)
            .map(v.line)
            .join('\n'),
        );
      return out;
    });
    const buffers = v.raw ? bodies.map((b) => Buffer.from(b)) : [];
    const batches = v.sink ? bodies.map((b) => b.split('\n').map((line) => ({ eventId: '', line, receivedAt: 0 }))) : [];
    s = { bodies, buffers, batches, serMs, mb: bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6 };
    serialized.set(v.name, s);
  }
  return s;
}

async function countRows(table: string): Promise<number> {
  const [cnt] = await (await c.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(cnt!.n);
}

let n = 0;
for (let run = 1; run <= RUNS; run++)
  for (const v of variants) {
    if (ONLY && !ONLY.includes(v.name)) continue;
    const { bodies, buffers, batches, serMs, mb } = bodiesOf(v);
    for (const conc of CONCURRENCY) {
      const db = `bench_${n++}`;
      await migrate(c, { database: db, dir: v.schema === 'pre0004' ? pre0004 : undefined });
      for (const mv of v.detach ?? []) await c.command({ query: `DETACH TABLE ${db}.${mv}` });
      let table = `${db}.events`;
      if (v.table === 'null') {
        await c.command({ query: `CREATE TABLE ${db}.events_null AS ${db}.events ENGINE = Null` });
        table = `${db}.events_null`;
      }
      const tsv = v.format === 'TabSeparated';
      const dedup = (b: number) =>
        v.dedup === false
          ? `deduplicate_insert = 'disable', insert_deduplicate = 0, insert_deduplication_token = ''`
          : `insert_deduplicate = 1, insert_deduplication_token = 'bench:${b}'`;
      const sink = createClickHouseSink(pooled, { table });
      async function insertBatch(b: number, worker: number) {
        if (v.sink) {
          await sink.insert(batches[b]!, { token: `bench:${b}` });
          return;
        }
        if (v.raw) {
          await rawConns[worker % rawConns.length]!.chdb.rawInsert({
            table,
            values: buffers[b]!,
            format: 'TabSeparated',
            columns: EVENT_COLUMNS,
            settings: { insert_deduplicate: 1, insert_deduplication_token: `bench:${b}`, input_format_tsv_detect_header: 0 },
          });
          return;
        }
        const res = await clients[worker % clients.length]!.exec({
          query: `INSERT INTO ${table}${tsv ? ` (${EVENT_COLUMNS.join(', ')})` : ''} SETTINGS ${v.settings ? `${v.settings}, ` : ''}${dedup(b)}${tsv ? ', input_format_tsv_detect_header = 0' : ''} FORMAT ${v.format}`,
          values: Readable.from([bodies[b]!]),
        });
        res.stream.resume();
      }
      /** `conc` workers, each inserting the next batch until none is left. */
      async function insertAll(count: number) {
        let next = 0;
        await Promise.all(
          Array.from({ length: conc }, async (_, worker) => {
            for (let b = next++; b < count; b = next++) await insertBatch(b, worker);
          }),
        );
      }
      /** Every worker at once re-inserts batch 0 or 1 with its token: retries, some of one batch in parallel. */
      const retryAll = () => Promise.all(Array.from({ length: Math.max(2, conc) }, (_, worker) => insertBatch(worker % 2, worker)));
      const t = performance.now();
      const cpu0 = process.cpuUsage();
      await insertAll(bodies.length);
      const secs = (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuSecs = (cpu.user + cpu.system) / 1e6;
      if (v.table !== 'null') {
        const got = await countRows(table);
        if (got !== ROWS) throw new Error(`${v.name}: ${got} rows in ${table}, expected ${ROWS}`);
        if (v.dedup !== false) {
          // A retried batch (same token) must still be dropped, with inserts in parallel.
          // Merges are stopped first: one could otherwise collapse a duplicate (same event_id) and hide it.
          await c.command({ query: `SYSTEM STOP MERGES ${table}` });
          await retryAll();
          const again = await countRows(table);
          if (again !== ROWS)
            throw new Error(`${v.name}: ${again} rows in ${table} after re-inserting batches with their tokens, expected ${ROWS}`);
        }
      }
      console.log(
        `${String(run).padStart(3)} ${v.name.padEnd(18)} ${v.format.padEnd(19)} ${String(conc).padStart(4)} ${((serMs * 1000) / ROWS).toFixed(2).padStart(8)}      ${mb.toFixed(0).padStart(5)}  ${secs.toFixed(2).padStart(7)}  ${Math.round(
          ROWS / secs,
        )
          .toLocaleString()
          .padStart(
            9,
          )}  ${((secs * 1e6) / ROWS).toFixed(2).padStart(8)}  ${((secs * 1000) / bodies.length).toFixed(1).padStart(9)}  ${((cpuSecs * 1e6) / ROWS).toFixed(2).padStart(10)}  ${(cpuSecs / secs).toFixed(2).padStart(5)}  ${os.loadavg()[0]!.toFixed(2)}`,
      );
      await c.command({ query: `DROP DATABASE ${db} SYNC` });
    }
  }
console.log(
  `load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const r of rawConns) await r.close();
await pooled.close();
for (const x of extra) await x.close();
await w.close();
fs.rmSync(dir, { recursive: true, force: true });
