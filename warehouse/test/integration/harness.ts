import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { createReportsService, createWarehouseClient, migrate, type WarehouseClient } from '../../src/index.ts';
import { loadWarehouseConfig } from '../../src/config.ts';

/** One fresh embedded warehouse for this test process, migrated, with the reports mounted on a free port. */
export async function startReportsApp(): Promise<{ warehouse: WarehouseClient; baseUrl: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-reports-'));
  const warehouse = createWarehouseClient({ dataDir: dir });
  await migrate(warehouse.client, {});
  const service = createReportsService({
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    warehouse,
    config: loadWarehouseConfig({ DASHBOARD_REFRESH_MS: '1000' }),
  });
  const app = express();
  service.mount(app);
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  return {
    warehouse,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await warehouse.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
