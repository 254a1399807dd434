import type { Command } from 'commander';
import { action } from './action.js';
import { withCatalog, withDatabase } from './common-options.js';
import { withRunOptions } from './run-verb-options.js';

interface BaselineOptions {
  release: string;
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  lockTimeout: number;
}

export function register(program: Command): void {
  const command = program
    .command('baseline')
    .description("adopt a database leapfrog has never seen: record the release it is at now")
    .requiredOption('--release <release>', 'the release the database is at (id or version)');
  withRunOptions(withDatabase(withCatalog(command))).action(
    action<BaselineOptions>(async (options) => {
      const { baseline } = await import('./baseline-command.js');
      return baseline(options);
    }),
  );
}
