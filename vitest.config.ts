import { defineConfig } from 'vitest/config';

// Three suites: unit (pure, fakes allowed), integration (real PostgreSQL, real Docker),
// e2e (the built CLI run as a user runs it). One embedded PostgreSQL server is started for the
// whole run by the global setup; each test file creates its own databases on it.
// LEAPFROG_TEST_REPORT=FILE adds a JSON report beside the usual output (CI prints a summary from it).
const report = process.env['LEAPFROG_TEST_REPORT'];

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-postgres.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/global-postgres.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
