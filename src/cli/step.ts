import type { Command } from 'commander';
import { action } from './action.js';
import { withPreUpgradeBackupOptions, type SafetyCliOptions } from './backup.js';
import { withCatalog, withDatabase, withExecutor } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';

interface StepOptions extends RunVerbOptions, SafetyCliOptions {
  plan: string;
  dryRun?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('step')
    .description(
      'run exactly the next pending step of a plan (one release), then exit: for tools that restart services between releases',
    )
    .requiredOption('--plan <file>', 'a plan written by `leapfrog plan --out`')
    .option('--dry-run', 'check and read everything the step would and list what it would run; change nothing');
  withPreUpgradeBackupOptions(withRunOptions(withExecutor(withDatabase(withCatalog(command))))).action(
    action<StepOptions>(async (options) => {
      const input = { ...options, mode: 'step' as const, planFile: options.plan };
      if (options.dryRun === true) return (await import('./dry-run-command.js')).dryRunVerb(input);
      const { runVerb } = await import('./run-verb.js');
      return runVerb(input);
    }),
  );
}
