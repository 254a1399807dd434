import type { OutputMode } from '../ui/output-mode.js';
import type { StatusReport } from '../upgrade/status-report.js';
import { formatDuration } from '../util/duration.js';

/** `status` for people (text) or tools (one JSON line). */
export function printStatus(report: StatusReport, output: OutputMode): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines: string[] = [`database: ${report.database} (ledger schema "${report.ledgerSchema}")`];
  lines.push(
    report.current
      ? `current release: ${report.current.release} (${report.current.version}) since ${report.current.since}`
      : 'current release: unknown (not baselined)',
  );
  const a = report.appVersion;
  if (a !== null) {
    const says = a.error !== null ? `nothing (${a.error})` : a.says === null ? 'nothing (no row)' : `"${a.says}"`;
    const matching = a.matches.length > 0 ? `the appVersion of ${a.matches.join(', ')}` : 'no release of the catalog';
    if (a.problem !== null) lines.push(`application says: ${a.problem}`);
    else if (a.release === null) lines.push(`application says: ${says} (${matching})`);
    else if (a.drift)
      lines.push(
        `application says: ${says}: DRIFT: ${matching}, not ${a.release}'s "${a.expected ?? ''}"; step and apply refuse (exit 6)`,
      );
    else if (a.says === a.expected) lines.push(`application says: ${says}, as ${a.release} expects`);
    else
      lines.push(
        `application says: ${says} (${matching}): mid-step to ${a.unfinished.join(', ')}, which the ledger records as unfinished`,
      );
  }
  if (report.running)
    lines.push(
      `running now: leapfrog on ${report.running.host ?? '?'} pid ${report.running.pid ?? '?'} since ${report.running.since ?? '?'}${report.running.plan ? `, plan ${report.running.plan}` : ''}`,
    );
  if (report.lastRun) {
    const took = report.lastRun.finishedAt
      ? ` in ${formatDuration(Date.parse(report.lastRun.finishedAt) - Date.parse(report.lastRun.startedAt))}`
      : '';
    const state = report.lastRun.alive === false ? 'interrupted (process gone; no lock held)' : report.lastRun.status;
    lines.push(
      `last run: ${report.lastRun.mode} ${report.lastRun.from} -> ${report.lastRun.to}: ${state}${took} (started ${report.lastRun.startedAt})`,
    );
  }
  if (report.plan) {
    lines.push(
      report.plan.problem !== null
        ? `plan ${report.plan.file}: ${report.plan.problem}`
        : `plan ${report.plan.file}: ${report.plan.from} -> ${report.plan.to}; done: ${report.plan.done.join(', ') || 'none'}; pending: ${report.plan.pending.join(', ') || 'none'}`,
    );
  }
  if (report.lastFailure) {
    const f = report.lastFailure;
    lines.push(
      `last failure: ${f.release} ${f.phase}${f.phase === 'schema' ? ` (${f.name})` : ''} ${f.status}${f.exitCode === null ? '' : `, exit ${f.exitCode}`}, attempt ${f.attempts}${f.at ? ` at ${f.at}` : ''}`,
    );
    for (const line of f.outputTail.slice(-20)) lines.push(`    | ${line}`);
  }
  lines.push(`next: ${report.next}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
