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
import { notRepresentativeForCompileCache } from './compile-cache-report.js';

export interface RunVerbInput extends RunVerbOptions, SafetyCliOptions, GlobalOptions {
  mode: RunMode;
  planFile?: string;
  to?: string;
}

/** `step` and `apply`: parse into one call of the run pipeline, then print the summary (text) or the summary line (json). */
export async function runVerb(input: RunVerbInput): Promise<number> {
  // A missing or broken plan file is bad input whatever the database: said before anything connects.
  const common = await upgradeInputOf(input);
  using signals = installSignalHandlers();
  const summary = await runUpgrade({
    ...common,
    output: input.output,
    lockTimeoutMs: input.lockTimeout,
    signal: signals.signal,
    safety: {
      backupDir: input.backupDir,
      backup:
        input.backup === false
          ? undefined
          : backupOptionOf(input, (record) => {
              // Each backup taken is printed beside the run's own output.
              if (input.output === 'json') process.stdout.write(`${JSON.stringify({ type: 'backup', ...record })}\n`);
              else process.stderr.write(`${formatBackupLine(record)}\n`);
            }),
    },
  });
  if (summary.result.error !== undefined) throw summary.result.error;
  printSummary(summary, input.output);
  return 0;
}

/**
 * What `step`/`apply` and their `--dry-run` hand the upgrade service alike: the plan file read
 * once (a missing or broken one is bad input before anything connects), the catalog, the target,
 * the executor and the URL's variable.
 */
export async function upgradeInputOf(input: RunVerbInput) {
  return {
    planFile: input.planFile,
    planFileContents: input.planFile === undefined ? undefined : await readPlanFile(input.planFile),
    to: input.to,
    catalogDir: input.catalog,
    target: resolveDatabaseTarget(input.databaseUrl),
    ledgerSchema: input.ledgerSchema,
    executorKind: input.executor ?? 'process',
    executorOptions: { docker: dockerExecutorOptions(input) },
    mode: input.mode,
    databaseUrlEnv: input.databaseUrlEnv,
  } as const;
}

/** `--backup` (always) or automatic, with the flags that shape it; `onRecorded` sees each backup taken. */
export function backupOptionOf(input: RunVerbInput, onRecorded?: BackupOption['onRecorded']): BackupOption {
  return {
    backupDir: input.backupDir,
    ...(input.backupJobs === undefined ? {} : { backupJobs: input.backupJobs }),
    ...(input.pgBin === undefined ? {} : { pgBin: input.pgBin }),
    ...(input.backup === true ? { always: true } : {}),
    ...(onRecorded === undefined ? {} : { onRecorded }),
  };
}

export function printSummary(summary: RunSummary, output: OutputMode): void {
  if (output === 'json') {
    const { result: _result, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
    return;
  }
  if (summary.status === 'nothing-to-do') {
    notRepresentativeForCompileCache();
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
