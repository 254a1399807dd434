import { InvalidArgumentError, type Command } from 'commander';
import type { PathRehearsal } from '../validate/rehearse-paths.js';
import { action } from './action.js';
import { withCatalog } from './common-options.js';
import { installSignalHandlers } from './signals.js';

interface Options {
  catalog: string;
  plans: string;
  matrix?: boolean;
  rehearse?: boolean;
  rows: number;
  junit?: string;
}

function rowsArgument(value: string): number {
  const n = Number(value);
  // At least one row: a rehearsal of no data proves nothing, and every path would fail on it.
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a row count (1 or more)`);
  return n;
}

export function register(program: Command): void {
  withCatalog(
    program
      .command('validate')
      .description(
        'for release engineers: lint every manifest, check every supported path, milestones and yanked releases, and scan release folders for down migrations',
      )
      .option('--matrix', 'print the planned path for every (from, to) pair, as a table (or JSON with --output json)')
      .option(
        '--rehearse',
        "run every supported path to the newest release for real on embedded PostgreSQL, each database installed by the releases' `fresh` (the demo catalog: seeded demo data)",
      )
      .option('--rows <n>', 'demo rows to seed for --rehearse (demo catalog only)', rowsArgument, 2000)
      .option('--plans <dir>', 'saved plans to check for yanked stops', 'plans')
      .option('--junit <file>', 'also write the results as JUnit XML for CI')
      .addHelpText(
        'after',
        '\nExamples:\n  leapfrog validate\n  leapfrog validate --matrix --junit reports/validate.xml\n  leapfrog validate --rehearse --rows 5000',
      ),
  ).action(
    action<Options>(async (options) => {
      const { validateCatalog } = await import('../validate/validate-catalog.js');
      const { formatValidationText } = await import('../validate/format-validation.js');
      const report = await validateCatalog({ catalogDir: options.catalog, plansDir: options.plans });
      let rehearsals: PathRehearsal[] | undefined;
      if (options.rehearse === true && report.loaded !== undefined && report.problems.length === 0) {
        const { rehearsePaths } = await import('../validate/rehearse-paths.js');
        using signals = installSignalHandlers();
        rehearsals = await rehearsePaths(report.loaded, {
          rows: options.rows,
          signal: signals.signal,
          onProgress: options.output === 'json' ? undefined : (line: string) => void process.stderr.write(`${line}\n`),
        });
        report.cases.push(...rehearsals.map((r) => r.case));
      }
      if (options.junit !== undefined) {
        const { writeJunit } = await import('../validate/write-junit.js');
        await writeJunit(options.junit, report.cases);
      }
      const rehearsalFailed = rehearsals?.some((r) => !r.ok) === true;
      if (options.output === 'json') {
        process.stdout.write(
          `${JSON.stringify({
            type: 'validate',
            ok: report.problems.length === 0 && !rehearsalFailed,
            catalog: report.catalog,
            releases: report.releases,
            problems: report.problems,
            ...(options.matrix === true ? { matrix: report.pairs } : {}),
            ...(rehearsals ? { rehearsals: rehearsals.map((r) => r.summary) } : {}),
            ...(options.junit !== undefined ? { junit: options.junit } : {}),
          })}\n`,
        );
      } else {
        process.stdout.write(
          `${formatValidationText(report, { matrix: options.matrix === true, rehearsals, rehearseRequested: options.rehearse === true, junit: options.junit })}\n`,
        );
      }
      // Problems in the catalog are bad input (exit 2); a rehearsed path that failed is a
      // failed phase (exit 1), the same codes `apply` would give.
      if (report.problems.length > 0) return 2;
      if (rehearsalFailed) return 1;
      return 0;
    }),
  );
}
