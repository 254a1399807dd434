import { defineConfig } from 'vitest/config';

// Three suites: unit (pure, fakes allowed), integration (real PostgreSQL, real Docker),
// e2e (the built CLI run as a user runs it). One embedded PostgreSQL server is started for the
// whole run by the global setup; each test file creates its own databases on it.
// LEAPFROG_TEST_REPORT=FILE adds a JSON report beside the usual output (CI prints a summary from it).
const report = process.env['LEAPFROG_TEST_REPORT'];

// `npm run test:fast` (LEAPFROG_TEST_TIER=fast): unit plus the integration files that need
// neither a build (dist/kit), Docker nor long pg_dump runs — about a minute — for the inner loop.
// `npm test` runs everything. A new integration file belongs here only if it stays that quick.
const fast = process.env['LEAPFROG_TEST_TIER'] === 'fast';
const QUICK_INTEGRATION = [
  'embedded-exit-code',
  'ledger',
  'lock-faults',
  'postgres-helper',
  'protocol-conformance',
  'runner',
  'sql-checks',
].map((name) => `test/integration/${name}.test.ts`);

// Every run's catalog cache goes to a temporary folder removed afterwards (global-cache-dir.ts).
const cacheDir = 'test/helpers/global-cache-dir.ts';

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: [cacheDir],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: fast ? QUICK_INTEGRATION : ['test/integration/**/*.test.ts'],
          globalSetup: [cacheDir, 'test/helpers/global-postgres.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      ...(fast
        ? []
        : [
            {
              test: {
                name: 'e2e',
                include: ['test/e2e/**/*.test.ts'],
                globalSetup: [cacheDir, 'test/helpers/global-postgres.ts'],
                testTimeout: 300_000,
                hookTimeout: 300_000,
              },
            },
          ]),
    ],
  },
});
