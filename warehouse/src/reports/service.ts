import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { WarehouseClient } from '../client.ts';
import { DEFAULT_WAREHOUSE_CONFIG, type WarehouseConfig } from '../config.ts';
import { ReportQueryError, ReportRequestError } from '../errors.ts';
import { REPORTS } from './catalog.ts';
import { runReport } from './run.ts';

export interface ReportsServiceDeps {
  logger: Logger;
  /** The process's one warehouse client (shared with the analytics writer). */
  warehouse: WarehouseClient;
  config?: Readonly<WarehouseConfig>;
}

export interface ReportsService {
  mount(app: Express): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  checks: Record<string, () => Promise<void>>;
}

const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));
const CHART_JS = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');

function sendError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

/**
 * GET /v1/reports (the catalog), GET /v1/reports/:name (JSON {rows}), and
 * GET /dashboard (charts of the reports, refreshed every few seconds).
 */
export function createReportsService(deps: ReportsServiceDeps): ReportsService {
  const config = deps.config ?? DEFAULT_WAREHOUSE_CONFIG;
  const log = deps.logger;
  const client = deps.warehouse.client;
  const dashboardHtml = () =>
    fs.readFileSync(path.join(DASHBOARD_DIR, 'index.html'), 'utf8').replace('__REFRESH_MS__', String(config.dashboardRefreshMs));

  const router = express.Router();
  router.get('/v1/reports', (_req, res) => {
    res.json({
      reports: REPORTS.map((r) => ({
        name: r.name,
        title: r.title,
        description: r.description,
        params: ['since', 'until', 'site', ...r.extra],
      })),
    });
  });
  router.get('/v1/reports/:name', async (req: Request, res: Response) => {
    const name = String(req.params.name);
    try {
      const result = await runReport(client, name, req.query as Record<string, unknown>, { timeoutMs: config.reportsTimeoutMs });
      res.set('Cache-Control', 'no-store').json(result);
    } catch (err) {
      if (err instanceof ReportRequestError) return sendError(res, 400, err.code, err.message);
      if (err instanceof ReportQueryError) {
        log.error({ err, report: name }, 'report failed');
        if (err.retriable) res.set('Retry-After', '5');
        return sendError(
          res,
          err.retriable ? 503 : 500,
          'report_failed',
          err.retriable
            ? `report ${name} is unavailable: the warehouse did not answer; retry shortly`
            : `report ${name} failed; see the server log`,
        );
      }
      log.error({ err, report: name }, 'report crashed');
      return sendError(res, 500, 'internal', 'internal error');
    }
  });
  router.get('/dashboard', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(dashboardHtml());
  });
  router.get('/dashboard/dashboard.js', (_req, res) => {
    res.type('application/javascript').sendFile(path.join(DASHBOARD_DIR, 'dashboard.js'));
  });
  router.get('/dashboard/chart.umd.js', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').type('application/javascript').sendFile(CHART_JS);
  });

  return {
    mount(app) {
      app.use(router);
    },
    async start() {},
    async stop() {},
    checks: {
      warehouse: async () => {
        const r = await client.ping();
        if (!r.success) throw new Error(`ClickHouse ping failed: ${r.error.message}`);
      },
    },
  };
}
