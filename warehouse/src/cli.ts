/**
 * Report CLI: `npm run report -- top-searches --since 24h [--site demo] [--json]`.
 *
 * Asks the running app first (GET $BASE_URL/v1/reports/<name>), because the
 * embedded engine's data directory can be open in one process only and the
 * app holds it. When no app answers, it opens DATA_DIR (or CLICKHOUSE_URL)
 * itself and runs the same SQL.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createWarehouseClient } from './client.ts';
import { loadWarehouseConfig } from './config.ts';
import { ReportRequestError, WarehouseError } from './errors.ts';
import { REPORTS } from './reports/catalog.ts';
import { runReport, type ReportRow } from './reports/run.ts';

const USAGE = `usage: npm run report -- <report> [--since 24h] [--until now] [--site S] [--limit N]
                          [--keyword K] [--page P] [--kind product|promotion|element]
                          [--interval minute|hour|day] [--json] [--local]
       npm run report -- list

Times: relative (15m, 24h, 7d), "now", epoch ms or ISO (2026-11-20T10:00:00Z).
Asks the app at BASE_URL (default http://localhost:3000) and falls back to
opening DATA_DIR directly when no app answers; --local skips the app.`;

type Row = ReportRow;

export function formatTable(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const numeric = cols.map((c) => rows.every((r) => r[c] === null || typeof r[c] === 'number'));
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const fit = (s: string, w: number, right: boolean) => {
    const t = s.length > w ? `${s.slice(0, w - 1)}…` : s;
    return right ? t.padStart(w) : t.padEnd(w);
  };
  const line = (vals: string[]) =>
    vals
      .map((v, i) => fit(v, widths[i]!, numeric[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function viaApp(baseUrl: string, name: string, params: Record<string, string>): Promise<{ rows: Row[] } | 'unreachable'> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v1/reports/${encodeURIComponent(name)}?${new URLSearchParams(params)}`, {
      signal: AbortSignal.timeout(20_000),
    });
  } catch {
    return 'unreachable';
  }
  const body = (await res.json().catch(() => ({}))) as { rows?: Row[]; error?: { code: string; message: string } };
  if (res.status === 400) throw new ReportRequestError(body.error?.message ?? 'bad request', { code: 'bad_parameter' });
  if (!res.ok || !body.rows)
    throw new WarehouseError(`the app at ${baseUrl} answered ${res.status}: ${body.error?.message ?? 'no report rows'}`);
  return { rows: body.rows };
}

async function viaWarehouse(env: NodeJS.ProcessEnv, name: string, params: Record<string, string>): Promise<{ rows: Row[]; where: string }> {
  const config = loadWarehouseConfig(env);
  // `npm run -w warehouse` runs here in warehouse/; DATA_DIR is meant relative to where the user typed the command.
  const dataDir = path.resolve(env.INIT_CWD ?? process.cwd(), config.dataDir);
  const w = createWarehouseClient({ clickhouseUrl: config.clickhouseUrl, dataDir });
  try {
    const r = await runReport(w.client, name, params, { timeoutMs: config.reportsTimeoutMs });
    return { rows: r.rows, where: w.location };
  } catch (err) {
    if (
      err instanceof WarehouseError &&
      /UNKNOWN_TABLE|UNKNOWN_DATABASE|does not exist/i.test(String((err.cause as Error)?.message ?? err.message))
    ) {
      throw new WarehouseError(`no warehouse data at ${w.location}: start the app (npm start) or point DATA_DIR / CLICKHOUSE_URL at it`);
    }
    throw err;
  } finally {
    await w.close();
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      site: { type: 'string' },
      limit: { type: 'string' },
      keyword: { type: 'string' },
      page: { type: 'string' },
      kind: { type: 'string' },
      interval: { type: 'string' },
      json: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const name = positionals[0];
  if (values.help || !name) {
    console.log(USAGE);
    return name || values.help ? 0 : 2;
  }
  if (name === 'list') {
    for (const r of REPORTS) console.log(`${r.name.padEnd(18)} ${r.description}`);
    return 0;
  }
  const params: Record<string, string> = {};
  for (const k of ['since', 'until', 'site', 'limit', 'keyword', 'page', 'kind', 'interval'] as const) {
    const v = values[k];
    if (v !== undefined) params[k] = v;
  }
  const config = loadWarehouseConfig(env);
  try {
    let rows: Row[];
    let source: string;
    const fromApp = values.local ? 'unreachable' : await viaApp(config.baseUrl, name, params);
    if (fromApp === 'unreachable') {
      const r = await viaWarehouse(env, name, params);
      rows = r.rows;
      source = r.where;
    } else {
      rows = fromApp.rows;
      source = config.baseUrl;
    }
    if (values.json) console.log(JSON.stringify({ report: name, rows }, null, 2));
    else {
      console.log(formatTable(rows));
      console.error(`\n${rows.length} row(s) from ${source}`);
    }
    return 0;
  } catch (err) {
    console.error(`report failed: ${(err as Error).message}`);
    return err instanceof ReportRequestError ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
