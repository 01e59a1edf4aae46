import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure logic, parallel) and tests against the real
// services that `npm test` starts first (Kafka, Redis, embedded ClickHouse,
// Chromium). Integration files run in their own forked process each, because
// an embedded ClickHouse data directory can be opened by one process only.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/test/unit/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/test/integration/**/*.test.ts', '**/test/e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          pool: 'forks',
          isolate: true,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          minWorkers: 1,
        },
      },
      {
        // The fault suite breaks services on purpose, on its own private Kafka
        // and Redis, one file at a time. `npm test` runs its short form;
        // `npm run test:faults` the full one (FAULTS_FULL=1).
        test: {
          name: 'faults',
          include: ['loadtest/test/faults/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          pool: 'forks',
          isolate: true,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
