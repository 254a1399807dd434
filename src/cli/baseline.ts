import type { Command } from 'commander';
import { action } from './action.js';
import { dockerExecutorOptions, withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';
import { installSignalHandlers } from './signals.js';

interface BaselineOptions extends RunVerbOptions {
  release: string;
  verify: boolean;
  force?: boolean;
  fleet?: string;
}

export function register(program: Command): void {
  const command = program
    .command('baseline')
    .description(
      "adopt a database leapfrog has never seen: record the release it is at now, once that release's own check agrees",
    )
    .requiredOption('--release <release>', 'the release the database is at (id or version)')
    .option('--no-verify', "record without running the release's green-light check (only when you are sure)")
    .option('--force', 'replace a different release the ledger records (a wrong earlier baseline)')
    .option('--fleet <file>', 'baseline every target of a fleet.yaml at --release (each with its own catalog)');
  withRunOptions(withExecutor(withDatabase(withCatalog(command)))).action(
    action<BaselineOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).baselineFleetVerb({ ...options, fleet: options.fleet });
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { baseline } = await import('../upgrade/baseline.js');
      const { printBaseline } = await import('./baseline-command.js');
      using signals = installSignalHandlers();
      const outcome = await baseline({
        release: options.release,
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
