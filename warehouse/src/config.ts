import { z } from 'zod';
import { WarehouseError } from './errors.ts';

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);

const schema = z.object({
  CLICKHOUSE_URL: z.url({ message: 'an http(s) URL such as http://default:@localhost:8123' }).optional(),
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a cluster name')
    .optional(),
  DATA_DIR: z.string().min(1).default('.data/'),
  EVENTS_TTL_DAYS: int(1, 36_500, 395),
  REPORTS_TIMEOUT_MS: int(100, 600_000, 15_000),
  DASHBOARD_REFRESH_MS: int(1000, 600_000, 5000),
  BASE_URL: z.url({ message: 'an http(s) URL such as http://localhost:3000' }).default('http://localhost:3000'),
});

export interface WarehouseConfig {
  clickhouseUrl: string | undefined;
  clickhouseCluster: string | undefined;
  dataDir: string;
  eventsTtlDays: number;
  reportsTimeoutMs: number;
  dashboardRefreshMs: number;
  /** Where the report CLI looks for a running app first. */
  baseUrl: string;
}

export class WarehouseConfigError extends WarehouseError {
  override name = 'WarehouseConfigError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export const DEFAULT_WAREHOUSE_CONFIG: Readonly<WarehouseConfig> = Object.freeze(loadWarehouseConfig({}));

/** Parses the warehouse settings once; reports every bad one with its expected form. */
export function loadWarehouseConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Readonly<WarehouseConfig> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) input[key] = env[key] === '' ? undefined : env[key];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(input[String(i.path[0])])})`);
    throw new WarehouseConfigError(`invalid warehouse settings:\n  ${problems.join('\n  ')}`, problems);
  }
  const e = parsed.data;
  return Object.freeze({
    clickhouseUrl: e.CLICKHOUSE_URL,
    clickhouseCluster: e.CLICKHOUSE_CLUSTER,
    dataDir: e.DATA_DIR,
    eventsTtlDays: e.EVENTS_TTL_DAYS,
    reportsTimeoutMs: e.REPORTS_TIMEOUT_MS,
    dashboardRefreshMs: e.DASHBOARD_REFRESH_MS,
    baseUrl: e.BASE_URL.replace(/\/+$/, ''),
  });
}
