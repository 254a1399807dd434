import type { Command } from 'commander';
import { action } from './action.js';
import { withCatalog, withDatabase } from './common-options.js';

interface StatusOptions {
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  plan?: string;
}

export function register(program: Command): void {
  const command = program
    .command('status')
    .description("the database's current release, the plan's progress, the last failure with its output, and the next command")
    .option('--plan <file>', 'show progress through this plan');
  withDatabase(withCatalog(command)).action(
    action<StatusOptions>(async (options) => {
      const { status } = await import('./status-command.js');
      return status(options);
    }),
  );
}
