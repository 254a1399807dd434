import type { Command } from 'commander';
import { action } from './action.js';
import { dockerExecutorOptions, withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';

interface BaselineOptions extends RunVerbOptions {
  release: string;
  verify: boolean;
  force?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('baseline')
    .description("adopt a database leapfrog has never seen: record the release it is at now, once that release's own check agrees")
    .requiredOption('--release <release>', 'the release the database is at (id or version)')
    .option('--no-verify', "record without running the release's green-light check (only when you are sure)")
    .option('--force', 'replace a different release the ledger records (a wrong earlier baseline)');
  withRunOptions(withExecutor(withDatabase(withCatalog(command)))).action(
    action<BaselineOptions>(async (options) => {
      const { baseline } = await import('./baseline-command.js');
      return baseline({
        release: options.release,
        catalog: options.catalog,
        ledgerSchema: options.ledgerSchema,
        lockTimeout: options.lockTimeout,
        output: options.output,
        verify: options.verify,
        force: options.force === true,
        executorKind: options.executor ?? 'process',
        executorOptions: { docker: dockerExecutorOptions(options) },
        databaseUrlEnv: options.databaseUrlEnv,
        ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
      });
    }),
  );
}
