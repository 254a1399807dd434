import type { RunMode } from '../ledger/ledger.js';
import { resolveDatabaseTarget } from '../pg/database-target.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import type { OutputMode } from '../ui/output-mode.js';
import { runUpgrade, type RunSummary } from '../upgrade/run-upgrade.js';
import type { BackupOption } from '../upgrade/pre-upgrade-backup.js';
import { formatBackupLine } from '../backup/format-backup.js';
import { formatDuration } from '../util/duration.js';
import type { GlobalOptions } from './action.js';
import type { SafetyCliOptions } from './backup.js';
import { dockerExecutorOptions } from './common-options.js';
import type { RunVerbOptions } from './run-verb-options.js';
import { installSignalHandlers } from './signals.js';

export interface RunVerbInput extends RunVerbOptions, SafetyCliOptions, GlobalOptions {
  mode: RunMode;
  planFile?: string;
  to?: string;
}

/** `step` and `apply`: parse into one call of the run pipeline, then print the summary (text) or the summary line (json). */
export async function runVerb(input: RunVerbInput): Promise<number> {
  // A missing or broken plan file is bad input whatever the database: said before anything connects.
  const planFileContents = input.planFile === undefined ? undefined : await readPlanFile(input.planFile);
  using signals = installSignalHandlers();
  const summary = await runUpgrade({
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
    signal: signals.signal,
    safety: { backupDir: input.backupDir, backup: input.backup === false ? undefined : backupOption(input) },
  });
  if (summary.result.error !== undefined) throw summary.result.error;
  printSummary(summary, input.output);
  return 0;
}

/** `--backup` (always) or automatic; each backup taken is printed beside the run's own output. */
function backupOption(input: RunVerbInput): BackupOption {
  return {
    backupDir: input.backupDir,
    ...(input.backupJobs === undefined ? {} : { backupJobs: input.backupJobs }),
    ...(input.pgBin === undefined ? {} : { pgBin: input.pgBin }),
    ...(input.backup === true ? { always: true } : {}),
    onRecorded: (record) => {
      if (input.output === 'json') process.stdout.write(`${JSON.stringify({ type: 'backup', ...record })}\n`);
      else process.stderr.write(`${formatBackupLine(record)}\n`);
    },
  };
}

export function printSummary(summary: RunSummary, output: OutputMode): void {
  if (output === 'json') {
    const { result: _result, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
    return;
  }
  if (summary.status === 'nothing-to-do') {
    process.stdout.write(
      `nothing to do: the database is at ${summary.finalRelease.release}, the plan's target is ${summary.to.release}\n`,
    );
    return;
  }
  const ran = summary.result.steps.filter((s) => s.status === 'succeeded').map((s) => s.release);
  const rows = summary.rowsMigrated > 0 ? `, ${summary.rowsMigrated.toLocaleString('en-US')} rows migrated` : '';
  process.stdout.write(
    `done: the database is at ${summary.finalRelease.release} (${ran.length} step${ran.length === 1 ? '' : 's'}: ${ran.join(', ')}; ${formatDuration(summary.durationMs)}${rows})\n`,
  );
  process.stdout.write(
    summary.next === null ? `the plan's target ${summary.to.release} is reached\n` : `next: ${summary.next}\n`,
  );
}
