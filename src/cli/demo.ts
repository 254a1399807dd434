import { InvalidArgumentError, Option, type Command } from 'commander';
import { CheckRedError } from '../errors/index.js';
import { action } from './action.js';
import { withCatalog } from './common-options.js';

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
    .option('--keep', 'keep the server running after the upgrade and print how to connect (Ctrl-C stops it)')
    .addOption(new Option('--executor <kind>', 'where phase commands run: process (release folder) or docker (release image)').choices(['process', 'docker']).default('process'));
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
      const report = await runDemo({
        rows: options.rows,
        executor: options.executor,
        output: options.output,
        catalogDir: resolveCatalogDir(options.catalog),
        say,
        ...(options.keep === true ? { keep: waitWhileKept(text) } : {}),
      });
      const ok = demoSucceeded(report);
      if (text) {
        process.stdout.write(formatDemoSummary(report));
      } else {
        const { result: _result, ...summary } = report.summary;
        process.stdout.write(
          `${JSON.stringify({ type: 'demo-summary', ok, seed: report.seed, plan: report.plan.steps.map((s) => s.release), summary, before: report.before, after: report.after })}\n`,
        );
      }
      if (!ok) {
        throw new CheckRedError('the demo did not end green: see the summary above', {
          hint: 'report it with the output above; `leapfrog demo --keep` leaves the database up to inspect',
        });
      }
      return 0;
    }),
  );
}

/** With --keep, the server lives as long as this process: print how to connect, wait for Ctrl-C. */
function waitWhileKept(text: boolean) {
  return (connection: { url: string; port: number; database: string }) =>
    new Promise<void>((resolve) => {
      // A throwaway server made for this demo: its URL is not a secret worth hiding here.
      const lines = [
        `the demo database is still running: psql '${connection.url}'`,
        `  (port ${connection.port}, database ${connection.database}; try: SELECT * FROM leapfrog.runs; \\d orders)`,
        '  press Ctrl-C to stop it and remove its temp dir',
      ];
      if (text) process.stdout.write(`${lines.map((l) => `demo: ${l}`).join('\n')}\n`);
      else process.stdout.write(`${JSON.stringify({ type: 'demo-kept', ...connection })}\n`);
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number (example: --rows 100000)`);
  return n;
}
