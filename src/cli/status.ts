import type { Command } from 'commander';
import { action } from './action.js';
import { withCatalog, withDatabase } from './common-options.js';

interface StatusOptions {
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  plan?: string;
  fleet?: string;
}

export function register(program: Command): void {
  const command = program
    .command('status')
    .description(
      "the database's current release and what the application says it is (appVersion), the plan's progress, the last failure with its output, and the next command",
    )
    .option('--plan <file>', 'show progress through this plan')
    .option('--fleet <file>', 'one row per target of a fleet.yaml: group, release, state, last failure');
  withDatabase(withCatalog(command)).action(
    action<StatusOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).statusFleetVerb({ ...options, fleet: options.fleet });
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { statusReport } = await import('../upgrade/status-report.js');
      const { printStatus } = await import('./status-command.js');
      const report = await statusReport({
        target: resolveDatabaseTarget(options.databaseUrl),
        ledgerSchema: options.ledgerSchema,
        plan: options.plan,
        catalogDir: options.catalog,
      });
      printStatus(report, options.output);
      return 0;
    }),
  );
}
