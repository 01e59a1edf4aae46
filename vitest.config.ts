import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure logic, parallel) and tests against the real
// services that `npm test` starts first (Kafka, Redis, embedded ClickHouse,
// Chromium). Integration files run in their own forked process each, because
// an embedded ClickHouse data directory can be opened by one process only.
export default defineConfig({
  test: {
    reporters: ['default'],
    // Two cores: at most two test files at once. The fault project is run
    // separately with --no-file-parallelism (see scripts/src/cli.ts).
    maxWorkers: 2,
    minWorkers: 1,
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
        },
      },
      {
        // The fault suite breaks services on purpose, on its own private Kafka
        // and Redis. `npm test` runs its short form after the other projects,
        // one file at a time; `npm run test:faults` the full one (FAULTS_FULL=1).
        test: {
          name: 'faults',
          include: ['loadtest/test/faults/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          pool: 'forks',
          isolate: true,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
