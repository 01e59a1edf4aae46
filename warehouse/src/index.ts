export * from './client.ts';
export * from './errors.ts';
export { migrate, readMigrations, checkMigrationFiles, planMigrations, MIGRATIONS_DIR, DEFAULT_EVENTS_TTL_DAYS } from './migrate.ts';
export type { MigrateOptions, MigrateResult, MigrationFile, AppliedMigration } from './migrate.ts';
export { loadWarehouseConfig, WarehouseConfigError } from './config.ts';
export type { WarehouseConfig } from './config.ts';
export { createReportsService } from './reports/service.ts';
export type { ReportsService, ReportsServiceDeps } from './reports/service.ts';
export { runReport } from './reports/run.ts';
export type { ReportResult, ReportRow, RunReportOptions } from './reports/run.ts';
export { REPORTS, resolveParams, findReport } from './reports/catalog.ts';
export type { ReportDefinition } from './reports/catalog.ts';
export { parseTime } from './reports/time.ts';
export {
  closeSearchOutcomes,
  recloseSearchOutcomeDays,
  searchOutcomeDaysOf,
  searchOutcomesHorizon,
  startSearchOutcomesCloser,
  DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS,
} from './search-outcomes.ts';
export type {
  CloseSearchOutcomesResult,
  SearchOutcomesCloser,
  SearchOutcomesCloserOptions,
  SearchOutcomesOptions,
} from './search-outcomes.ts';
