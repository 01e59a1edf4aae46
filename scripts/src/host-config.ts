import path from 'node:path';
import { z } from 'zod';
import { ROOT } from './paths.ts';

/** Settings of the single-process host itself; each service parses its own. */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default('.data'),
  CLICKHOUSE_URL: z.string().url('an http(s):// URL of a ClickHouse server').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  READY_CHECK_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(2_000),
});

export interface HostConfig {
  port: number;
  dataDir: string;
  clickhouseUrl: string | undefined;
  logLevel: string;
  shutdownTimeoutMs: number;
  readyCheckTimeoutMs: number;
}

export function loadHostConfig(env: NodeJS.ProcessEnv): { config?: Readonly<HostConfig>; problems: string[] } {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`),
    };
  }
  const s = parsed.data;
  return {
    problems: [],
    config: Object.freeze({
      port: s.PORT,
      dataDir: path.resolve(ROOT, s.DATA_DIR),
      clickhouseUrl: s.CLICKHOUSE_URL,
      logLevel: s.LOG_LEVEL,
      shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
      readyCheckTimeoutMs: s.READY_CHECK_TIMEOUT_MS,
    }),
  };
}
