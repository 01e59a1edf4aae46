export { createAnalyticsService } from './service.ts';
export type { AnalyticsService, AnalyticsDeps, AnalyticsHooks, AnalyticsStats, BatchInfo } from './service.ts';
export { loadAnalyticsConfig } from './config.ts';
export type { AnalyticsConfig } from './config.ts';
export { ConfigError, SimulatedCrash, SinkError, InvalidEventError } from './errors.ts';
export { createClickHouseSink } from './sink.ts';
export type { EventSink } from './sink.ts';
