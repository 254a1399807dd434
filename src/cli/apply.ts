import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { action } from './action.js';
import { parallelArgument } from './fleet-options.js';
import { withPreUpgradeBackupOptions, type SafetyCliOptions } from './backup.js';
import { withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';
import { nextCommand } from '../util/next-command.js';

interface ApplyOptions extends RunVerbOptions, SafetyCliOptions {
  plan?: string;
  to?: string;
  dryRun?: boolean;
  fleet?: string;
  parallel?: number;
}

export function register(program: Command): void {
  const command = program
    .command('apply')
    .description('run every remaining step of a plan, one release at a time, advancing only on a green check')
    .option('--plan <file>', 'a plan written by `leapfrog plan --out`')
    .option('--to <release>', "plan in memory from the ledger's current release to this one")
    .option(
      '--dry-run',
      'check and read everything the run would (plan, catalog, ledger, guards) and list what it would run; change nothing',
    )
    .option('--fleet <file>', 'walk every target of a fleet.yaml to --to (docs/fleets.md)')
    .option(
      '--parallel <n>',
      "with --fleet: at most N targets of a group at a time (replaces the groups' parallel)",
      parallelArgument,
    );
  withPreUpgradeBackupOptions(withRunOptions(withExecutor(withDatabase(withCatalog(command))))).action(
    action<ApplyOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).runFleetVerb({ ...options, fleet: options.fleet }, 'apply');
      if ((options.plan === undefined) === (options.to === undefined)) {
        throw new BadInputError('apply needs exactly one of --plan FILE or --to RELEASE', {
          hint: `${nextCommand('apply', '--plan', 'plans/<from>-to-<to>.json')}, or ${nextCommand('apply', '--to', '<release>')}`,
        });
      }
      const input = { ...options, mode: 'apply' as const, planFile: options.plan, to: options.to };
      if (options.dryRun === true) return (await import('./dry-run-command.js')).dryRunVerb(input);
      const { runVerb } = await import('./run-verb.js');
      return runVerb(input);
    }),
  );
}
