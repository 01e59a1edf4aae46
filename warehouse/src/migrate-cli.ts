/** `npm run migrate -w warehouse`: applies pending migrations to DATA_DIR or CLICKHOUSE_URL. */
import path from 'node:path';
import { createWarehouseClient } from './client.ts';
import { loadWarehouseConfig } from './config.ts';
import { migrate } from './migrate.ts';

const config = loadWarehouseConfig(process.env);
const w = createWarehouseClient({
  clickhouseUrl: config.clickhouseUrl,
  dataDir: path.resolve(process.env.INIT_CWD ?? process.cwd(), config.dataDir),
});
try {
  const r = await migrate(w.client, { onCluster: config.clickhouseCluster, eventsTtlDays: config.eventsTtlDays });
  console.log(`${w.location}: applied ${r.applied.length ? r.applied.join(', ') : 'nothing'}; already applied ${r.alreadyApplied.length}`);
} catch (err) {
  console.error(`migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await w.close();
}
