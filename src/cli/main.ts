import { Command, Option } from 'commander';
import { registerEnvironmentSecrets } from '../pg/database-target.js';
import { enableDebugLogging, logger } from '../util/logger.js';
import { setCarriedFlags } from '../util/next-command.js';
import { carriedFlagsOf } from './carried-flags.js';
import { handleError } from './handle-error.js';
import { outputModeOfArgv } from '../ui/output-mode.js';
import { leapfrogVersion } from './leapfrog-version.js';
import { registerVerbs } from './verbs.js';
import { compileCacheLine } from './compile-cache-report.js';

// Only commander and the verbs' option definitions load here: each verb imports its heavy
// modules (pg, dockerode, listr2) inside its action, so `leapfrog plan` starts fast.
const program = new Command('leapfrog')
  .description(
    "Skip-level upgrades, one release at a time: plan the path of milestones, then run each release's own migrations until its green-light check passes.",
  )
  .version(leapfrogVersion())
  .addOption(
    new Option('--output <mode>', 'text for people, json for tools (JSON lines)')
      .choices(['text', 'json'])
      .default('text'),
  )
  .option(
    '--verbose',
    'debug lines on stderr for every side effect and every suppressed cleanup error (also LEAPFROG_DEBUG=1)',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerEnvironmentSecrets();
registerVerbs(program);
// Before any verb runs: the flags its `next:` hints must repeat (src/util/next-command.ts).
program.hook('preAction', () => {
  if (program.opts<{ verbose?: boolean }>().verbose === true) enableDebugLogging();
  const cacheLine = compileCacheLine();
  if (cacheLine !== null) logger('cli').debug(cacheLine);
  setCarriedFlags(carriedFlagsOf(program, process.argv));
});

// Not a top-level await: this module is bundled as CommonJS (dist/cli/leapfrog.cjs, see bin.ts).
async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = handleError(error, outputModeOfArgv(process.argv));
  }
}
void main();
