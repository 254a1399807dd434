import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';
import { action } from './action.js';
import { dockerExecutorOptions, withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';
import { installSignalHandlers } from './signals.js';

interface BaselineOptions extends RunVerbOptions {
  release?: string;
  detect?: boolean;
  verify: boolean;
  force?: boolean;
  fleet?: string;
}

export function register(program: Command): void {
  const command = program
    .command('baseline')
    .description(
      "adopt a database leapfrog has never seen: record the release it is at now (--release, or --detect from the application's appVersion), once that release's own check agrees",
    )
    .option('--release <release>', 'the release the database is at (id or version)')
    .option('--detect', 'pick the release whose appVersion the application says (instead of --release)')
    .option('--no-verify', "record without running the release's green-light check (only when you are sure)")
    .option(
      '--force',
      "replace a different release the ledger records (a wrong earlier baseline); record --release even when the application's appVersion names another",
    )
    .option('--fleet <file>', 'baseline every target of a fleet.yaml at --release (each with its own catalog)');
  withRunOptions(withExecutor(withDatabase(withCatalog(command)))).action(
    action<BaselineOptions>(async (options) => {
      if (options.fleet !== undefined) {
        // A fleet's targets have catalogs of their own: --detect is per database, not yet per fleet.
        if (options.release === undefined || options.detect === true) {
          throw new BadInputError('baseline --fleet needs --release RELEASE (not --detect)', {
            hint: nextCommand('baseline', '--fleet', options.fleet, '--release', '<release>'),
          });
        }
        return (await import('./fleet-command.js')).baselineFleetVerb({
          ...options,
          fleet: options.fleet,
          release: options.release,
        });
      }
      if ((options.release === undefined) === (options.detect !== true)) {
        throw new BadInputError('baseline needs exactly one of --release RELEASE or --detect', {
          hint: `${nextCommand('baseline', '--release', '<release>')} (the release the database is at), or ${nextCommand('baseline', '--detect')} (the release whose appVersion the application says)`,
        });
      }
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { baseline } = await import('../upgrade/baseline.js');
      const { printBaseline } = await import('./baseline-command.js');
      using signals = installSignalHandlers();
      const outcome = await baseline({
        release: options.release,
        detect: options.detect === true,
        catalogDir: options.catalog,
        target: resolveDatabaseTarget(options.databaseUrl),
        ledgerSchema: options.ledgerSchema,
        lockTimeoutMs: options.lockTimeout,
        verify: options.verify,
        force: options.force === true,
        executorKind: options.executor ?? 'process',
        executorOptions: { docker: dockerExecutorOptions(options) },
        databaseUrlEnv: options.databaseUrlEnv,
        signal: signals.signal,
      });
      printBaseline(outcome, options.output);
      return 0;
    }),
  );
}
