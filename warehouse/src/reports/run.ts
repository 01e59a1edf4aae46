import type { ClickHouseClient } from '@clickhouse/client';
import { WAREHOUSE_DATABASE } from '@storepulse/contracts';
import { ReportQueryError, ReportRequestError } from '../errors.ts';
import { withDatabase } from '../sql.ts';
import { findReport, reportSql, resolveParams } from './catalog.ts';

export type ReportRow = Record<string, string | number | boolean | null>;

export interface ReportResult {
  report: string;
  params: Record<string, string | number>;
  rows: ReportRow[];
  elapsed_ms: number;
}

export interface RunReportOptions {
  now?: number;
  database?: string;
  timeoutMs?: number;
}

const INT64 = /^(U?Int64|U?Int128|U?Int256)$/;
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/** Runs one report by name with the caller's raw query-string parameters. */
export async function runReport(
  client: ClickHouseClient,
  name: string,
  input: Record<string, unknown>,
  opts: RunReportOptions = {},
): Promise<ReportResult> {
  const def = findReport(name);
  const params = resolveParams(def, input, opts.now ?? Date.now());
  const sql = withDatabase(reportSql(def.name), opts.database ?? WAREHOUSE_DATABASE);
  // Send only the parameters this SQL names.
  const used = new Set([...sql.matchAll(/\{(\w+):/g)].map((m) => m[1]!));
  const query_params = Object.fromEntries(Object.entries(params.query).filter(([k]) => used.has(k)));
  const t0 = performance.now();
  let body: { meta: { name: string; type: string }[]; data: ReportRow[] };
  try {
    const rs = await client.query({
      query: sql,
      query_params,
      format: 'JSON',
      abort_signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
    body = (await rs.json()) as unknown as typeof body;
  } catch (cause) {
    if (cause instanceof ReportRequestError) throw cause;
    const code = (cause as { code?: string }).code;
    const retriable =
      code === undefined ||
      CONNECTION_CODES.has(code) ||
      (cause as Error).name === 'AbortError' ||
      (cause as Error).name === 'TimeoutError';
    throw new ReportQueryError(`report ${def.name} failed in ClickHouse: ${(cause as Error).message}`, {
      report: def.name,
      cause,
      retriable,
    });
  }
  const ints = body.meta.filter((m) => INT64.test(m.type.replace(/^Nullable\((.*)\)$/, '$1'))).map((m) => m.name);
  const rows = body.data.map((row) => {
    for (const k of ints) {
      const v = row[k];
      if (typeof v === 'string' && Number.isSafeInteger(Number(v))) row[k] = Number(v);
    }
    return row;
  });
  return { report: def.name, params: params.echo, rows, elapsed_ms: Math.round((performance.now() - t0) * 10) / 10 };
}
