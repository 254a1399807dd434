import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BadInputError, CheckRedError, InterruptedError } from '../errors/index.js';
import type { FleetRunReport } from '../fleet/run-fleet.js';
import { nextCommand } from '../util/next-command.js';
import { action } from './action.js';
import { executorOption, withCatalog } from './common-options.js';
import { parallelArgument } from './fleet-options.js';
import { installSignalHandlers } from './signals.js';

interface DemoOptions {
  rows: number;
  keep?: boolean;
  fleet?: boolean;
  tenants: number;
  parallel: number;
  tenantRows: number;
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
    .option(
      '--fleet',
      'the fleet demo instead (docs/fleets.md): an OpenStack cloud in lockstep, then a tenant fleet with a canary',
    )
    .option('--tenants <n>', 'with --fleet: tenant databases of the tenant fleet', positiveInteger, 20)
    .option('--parallel <n>', 'with --fleet: tenants upgraded at a time after the canary', parallelArgument, 4)
    .option('--tenant-rows <n>', 'with --fleet: orders seeded per tenant', positiveInteger, 1_000)
    .addOption(executorOption());
  withCatalog(command);
  command.action(
    action<DemoOptions>(async (options) => {
      if (options.fleet === true) return fleetDemo(options);
      const { runDemo } = await import('../demo/run-demo.js');
      const { formatDemoSummary, demoSucceeded } = await import('../demo/demo-summary.js');
      const { resolveCatalogDir } = await import('../demo/demo-paths.js');
      const text = options.output === 'text';
      const say = (line: string) => {
        if (text) process.stdout.write(`demo: ${line}\n`);
      };
      let ok = false;
      // Ctrl-C ends the demo as it ends `apply`: the run records the interruption, the server
      // stops, its temp dir goes, exit 130. With --keep, it is the way to stop the kept server.
      const signals = installSignalHandlers();
      try {
        await runDemo({
          rows: options.rows,
          executor: options.executor,
          output: options.output,
          catalogDir: resolveCatalogDir(options.catalog),
          say,
          signal: signals.signal,
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
            if (options.keep === true) await waitWhileKept(connection, text, signals.signal);
          },
        });
      } catch (error) {
        if (!signals.signal.aborted) throw error;
        // Whatever the interruption broke on the way out (the server stopping, a phase command
        // cut short), the operator pressed Ctrl-C: say that, and that nothing is left behind.
        throw new InterruptedError(
          'the demo was interrupted: its throwaway PostgreSQL server is stopped and its temp dir removed',
          {
            hint: `run \`${nextCommand('demo')}\` again: it starts over on a fresh database`,
            cause: error,
          },
        );
      } finally {
        signals.dispose();
      }
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
 * `demo --fleet`: both fleet shapes on one throwaway server (src/demo/run-fleet-demo.ts), shown
 * as `apply --fleet` shows them: the plan tree, the fleet's progress, the per-target table.
 */
async function fleetDemo(options: DemoOptions & { output: 'text' | 'json' }): Promise<number> {
  if (options.executor === 'docker' || options.keep === true) {
    throw new BadInputError(
      `demo --fleet runs with the process executor and stops its server when done (${options.keep === true ? '--keep' : '--executor docker'} is not supported)`,
      { hint: `run \`${nextCommand('demo', '--fleet')}\`, or \`${nextCommand('demo', '--keep')}\` for one database` },
    );
  }
  const { runFleetDemo } = await import('../demo/run-fleet-demo.js');
  const { resolveCatalogDir } = await import('../demo/demo-paths.js');
  const { printFleetPlan, printFleetReport, fleetProgress } = await import('./fleet-command.js');
  const text = options.output === 'text';
  const say = (line: string) => {
    if (text) process.stdout.write(line === '' ? '\n' : `demo: ${line}\n`);
  };
  const signals = installSignalHandlers();
  using progress = fleetProgress(options.output);
  try {
    const report = await runFleetDemo({
      tenants: options.tenants,
      parallel: options.parallel,
      rowsPerTenant: options.tenantRows,
      catalogDir: resolveCatalogDir(options.catalog),
      say,
      signal: signals.signal,
      onPlan: (_fleet, plan, to) => printFleetPlan(plan, to, options.output, false),
      onProgress: (_fleet, event) => progress.onEvent(event),
      onReport: (_fleet, report) => {
        progress[Symbol.dispose]();
        printFleetReport(signals.signal.aborted ? withoutResumeHints(report) : report, options.output);
      },
    });
    if (signals.signal.aborted) throw new Error('interrupted');
    if (text) {
      process.stdout.write(
        report.exitCode === 0
          ? `\ndemo: both fleets are at 2025.1: ${report.cloud.targets.length} services in lockstep, ${report.tenants?.targets.length ?? 0} tenants (data intact on ${report.tenantsIntact})\n`
          : `\ndemo: the fleet demo did not end green (exit ${report.exitCode}): see the table above\n`,
      );
      process.stdout.write(
        `next: ${nextCommand('plan', '--fleet', 'fleet.yaml', '--to', '2025.1')} (your own fleet; docs/fleets.md shows the file)\n`,
      );
    } else {
      process.stdout.write(
        `${JSON.stringify({ type: 'demo-fleet-summary', ok: report.exitCode === 0, exitCode: report.exitCode, tenantsIntact: report.tenantsIntact })}\n`,
      );
    }
    if (report.exitCode !== 0) {
      throw new CheckRedError('the fleet demo did not end green: see the per-target table above', {
        hint: `report it with the output above; \`${nextCommand('demo', '--fleet')}\` starts over on a fresh server`,
      });
    }
    return 0;
  } catch (error) {
    // Whatever the interruption broke on the way out, the operator pressed Ctrl-C: say that.
    if (!signals.signal.aborted) throw error;
    throw new InterruptedError(
      'the fleet demo was interrupted: its throwaway PostgreSQL server is stopped and its temp dir removed',
      { hint: `run \`${nextCommand('demo', '--fleet')}\` again: it starts over on a fresh server`, cause: error },
    );
  } finally {
    signals.dispose();
  }
}

/**
 * An interrupted demo removes its server and its fleet files on the way out, so the report's
 * "re-run `leapfrog apply --fleet <file>`" hints would name a file that is gone; the demo's own
 * error says to start over instead.
 */
function withoutResumeHints(report: FleetRunReport): FleetRunReport {
  return {
    ...report,
    next: null,
    targets: report.targets.map((t) =>
      t.lastFailure === null ? t : { ...t, lastFailure: { ...t.lastFailure, hint: null } },
    ),
  };
}

/**
 * With --keep the server lives as long as this process: print how to connect, then wait for
 * Enter, Ctrl-C or SIGTERM (the demo's signal handler aborts `signal`). The temp dir is removed
 * on exit as well, in case the process ends another way.
 */
function waitWhileKept(
  connection: { url: string; port: number; database: string; dataDir: string },
  text: boolean,
  signal: AbortSignal,
): Promise<void> {
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
    process.stdout.write(
      `${JSON.stringify({ type: 'demo-kept', url: connection.url, port: connection.port, database: connection.database })}\n`,
    );
  }
  return new Promise<void>((resolve) => {
    const stop = () => {
      // A new line of its own: after a Ctrl-C the terminal's "^C" is still on the last one.
      if (text) process.stdout.write('\ndemo: stopping the demo database and removing its temp dir\n');
      signal.removeEventListener('abort', stop);
      process.stdin.off('data', stop);
      process.stdin.pause();
      resolve();
    };
    if (signal.aborted) {
      resolve();
      return;
    }
    signal.addEventListener('abort', stop, { once: true });
    process.stdin.once('data', stop);
    process.stdin.resume();
  });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a positive whole number (example: --rows 100000)`);
  return n;
}
