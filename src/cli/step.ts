import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';
import { action } from './action.js';
import { parallelArgument } from './fleet-options.js';
import { withPreUpgradeBackupOptions, type SafetyCliOptions } from './backup.js';
import { withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';

interface StepOptions extends RunVerbOptions, SafetyCliOptions {
  plan?: string;
  dryRun?: boolean;
  fleet?: string;
  to?: string;
  parallel?: number;
}

export function register(program: Command): void {
  const command = program
    .command('step')
    .description(
      'run exactly the next pending step of a plan (one release), then exit: for tools that restart services between releases',
    )
    .option('--plan <file>', 'a plan written by `leapfrog plan --out` (required without --fleet)')
    .option('--dry-run', 'check and read everything the step would and list what it would run; change nothing')
    .option(
      '--fleet <file>',
      'take every target of a fleet.yaml one release further on its way to --to (docs/fleets.md)',
    )
    .option('--to <release>', 'with --fleet: the release the fleet is walking to')
    .option('--parallel <n>', 'with --fleet: at most N targets of a group at a time', parallelArgument);
  withPreUpgradeBackupOptions(withRunOptions(withExecutor(withDatabase(withCatalog(command))))).action(
    action<StepOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).runFleetVerb({ ...options, fleet: options.fleet }, 'step');
      if (options.plan === undefined) {
        throw new BadInputError("required option '--plan <file>' not specified", {
          hint: `${nextCommand('step', '--plan', 'plans/<from>-to-<to>.json')}, or ${nextCommand('step', '--fleet', 'fleet.yaml', '--to', '<release>')}`,
        });
      }
      const input = { ...options, mode: 'step' as const, planFile: options.plan };
      if (options.dryRun === true) return (await import('./dry-run-command.js')).dryRunVerb(input);
      const { runVerb } = await import('./run-verb.js');
      return runVerb(input);
    }),
  );
}
