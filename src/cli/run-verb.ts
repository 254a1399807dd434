import type { RunMode } from '../ledger/ledger.js';
import { resolveDatabaseTarget } from '../pg/database-target.js';
import { formatDuration } from '../util/duration.js';
import type { GlobalOptions } from './action.js';
import { dockerExecutorOptions } from './common-options.js';
import { runPlanCommand, type RunPlanCommandOptions, type RunSummary } from './run-plan-command.js';
import type { RunVerbOptions } from './run-verb-options.js';

export interface RunVerbInput extends RunVerbOptions, GlobalOptions {
  mode: RunMode;
  planFile?: string;
  to?: string;
  /** Extension point for flags other issues add to step/apply (backup). */
  extend?: (options: RunPlanCommandOptions) => RunPlanCommandOptions | Promise<RunPlanCommandOptions>;
}

/** `step` and `apply`: run, then print the summary (text) or the summary line (json). */
export async function runVerb(input: RunVerbInput): Promise<number> {
  // A missing or broken plan file is bad input whatever the database: say so before anything
  // (the backup guards included) tries to connect, and hand the contents on so it is read once.
  const planFileContents =
    input.planFile === undefined ? undefined : await (await import('../plan-file/plan-file.js')).readPlanFile(input.planFile);
  const base: RunPlanCommandOptions = {
    planFile: input.planFile,
    planFileContents,
    to: input.to,
    catalogDir: input.catalog,
    target: resolveDatabaseTarget(input.databaseUrl),
    ledgerSchema: input.ledgerSchema,
    executorKind: input.executor ?? 'process',
    executorOptions: { docker: dockerExecutorOptions(input) },
    mode: input.mode,
    output: input.output,
    lockTimeoutMs: input.lockTimeout,
    databaseUrlEnv: input.databaseUrlEnv,
  };
  const options = input.extend === undefined ? base : await input.extend(base);
  const summary = await runPlanCommand(options);
  printSummary(summary, input.output);
  return 0;
}

export function printSummary(summary: RunSummary, output: 'text' | 'json'): void {
  if (output === 'json') {
    const { result: _result, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
    return;
  }
  if (summary.status === 'nothing-to-do') {
    process.stdout.write(`nothing to do: the database is at ${summary.finalRelease.release}, the plan's target is ${summary.to.release}\n`);
    return;
  }
  const ran = summary.result.steps.filter((s) => s.status === 'succeeded').map((s) => s.release);
  const rows = summary.rowsMigrated > 0 ? `, ${summary.rowsMigrated.toLocaleString('en-US')} rows migrated` : '';
  process.stdout.write(
    `done: the database is at ${summary.finalRelease.release} (${ran.length} step${ran.length === 1 ? '' : 's'}: ${ran.join(', ')}; ${formatDuration(summary.durationMs)}${rows})\n`,
  );
  process.stdout.write(summary.next === null ? `the plan's target ${summary.to.release} is reached\n` : `next: ${summary.next}\n`);
}
