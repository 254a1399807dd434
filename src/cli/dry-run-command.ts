import { displayPath } from '../catalog/load-catalog.js';
import { dryRunUpgrade, type DryRunReport } from '../upgrade/dry-run.js';
import { formatStopListing } from '../upgrade/plan-report.js';
import { backupOptionOf, upgradeInputOf, type RunVerbInput } from './run-verb.js';

/**
 * `step --dry-run` and `apply --dry-run`: the same reading and the same refusals as the run (so
 * the same exit codes: 2, 5, 6), then what would run, printed; nothing is changed.
 */
export async function dryRunVerb(input: RunVerbInput): Promise<number> {
  const report = await dryRunUpgrade({
    ...(await upgradeInputOf(input)),
    // No backup is taken, so none is printed: the option only says whether one would be.
    safety: { backupDir: input.backupDir, backup: input.backup === false ? undefined : backupOptionOf(input) },
  });
  if (input.output === 'json') process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${formatDryRun(report).join('\n')}\n`);
  return 0;
}

export function formatDryRun(report: DryRunReport): string[] {
  const verb = report.mode === 'step' ? 'step' : 'apply';
  const lines = [
    `dry run of ${verb}: nothing was changed (no ledger write, no lock, no backup, no command)`,
    `the database ${report.database} is at ${report.current.release} (${report.current.version}), ledger schema "${report.ledgerSchema}"`,
    `plan: ${[report.plan.from.release, ...report.plan.steps].join(' -> ')}${report.plan.file === null ? ' (planned in memory)' : ` (${report.plan.file})`}`,
  ];
  if (report.status === 'nothing-to-do') {
    lines.push(
      `nothing to do: the database is at ${report.current.release}, the plan's target is ${report.plan.to.release}`,
    );
    return lines;
  }
  const count = `${report.pending.length} step${report.pending.length === 1 ? '' : 's'}`;
  const at =
    report.resumesAt === null
      ? ''
      : `; ${report.resumed ? 'resumes' : 'starts'} at ${report.resumesAt.release} ${report.resumesAt.phase === 'schema' ? `schema ${report.resumesAt.name}` : report.resumesAt.phase}`;
  lines.push(`${verb} would run ${count}: ${report.pending.join(', ')}${at}`);
  const dir = report.backup.dir === null ? '' : ` (into ${displayPath(report.backup.dir)})`;
  lines.push(
    `backup: ${report.backup.wouldTake ? `would be taken ${report.backup.reason}${dir}` : report.backup.reason}`,
  );
  lines.push(
    report.lockHeldBy === null
      ? 'lock: free'
      : `lock: held by ${report.lockHeldBy}: the run would wait for --lock-timeout, then exit 4`,
  );
  lines.push('', ...formatStopListing(report.stops), '', `next: ${report.next}`);
  return lines;
}
