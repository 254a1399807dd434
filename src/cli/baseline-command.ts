import type { OutputMode } from '../ui/output-mode.js';
import type { BaselineOutcome } from '../upgrade/baseline.js';
import { nextCommand } from '../util/next-command.js';

/** `baseline`'s outcome for people (text) or tools (one JSON line). */
export function printBaseline(o: BaselineOutcome, output: OutputMode): void {
  if (output === 'json') {
    process.stdout.write(
      `${JSON.stringify({ type: 'baseline', status: o.status, release: o.release, version: o.version, previous: o.previous, verification: o.verification, appVersion: o.appVersion, database: o.database, ledgerSchema: o.schema })}\n`,
    );
    return;
  }
  if (o.status === 'unchanged') {
    process.stdout.write(`${o.database} is already baselined at ${o.release}; nothing changed\n`);
    return;
  }
  const lines: string[] = [];
  const a = o.appVersion;
  if (a !== null) {
    const says = a.error !== null ? `nothing (${a.error})` : a.says === null ? 'nothing (no row)' : `"${a.says}"`;
    if (a.forced)
      lines.push(
        `FORCED (--force): the application says ${says}${a.matches.length > 0 ? ` (the appVersion of ${a.matches.join(', ')})` : ''}, not ${o.release}'s "${a.expected}"; recorded ${o.release} anyway`,
      );
    else if (a.detected) lines.push(`detected: the application says ${says}, the appVersion of ${o.release}`);
    else lines.push(`appVersion: the application says ${says}, as ${o.release} expects`);
  }
  const v = o.verification;
  if (v?.status === 'skipped') lines.push(`not verified (--no-verify): release ${o.release}'s check was not run`);
  else if (v?.status === 'no-check')
    lines.push(
      `not verified: release ${o.release} has no check in its manifest, so nothing could confirm the database is at it`,
    );
  else if (v !== null) {
    lines.push(
      `verified: release ${o.release}'s own check is ${v.status === 'green' ? 'green' : `green with a warning (${v.message ?? 'warning'})`}`,
    );
    for (const c of v.checks)
      lines.push(
        `  ${['ok', 'warning', 'FAILURE'][c.result] ?? `result ${c.result}`}: ${c.check}${c.details === null ? '' : ` — ${c.details}`}`,
      );
  }
  lines.push(
    o.status === 'replaced'
      ? `replaced the recorded release of ${o.database}: ${o.previous ?? '?'} -> ${o.release} (${o.version}); ledger schema "${o.schema}"`
      : `baselined ${o.database} at ${o.release} (${o.version}); ledger schema "${o.schema}"`,
  );
  lines.push(
    `next: ${nextCommand('plan', '--from', o.release, '--to', '<release>', '--out', `plans/${o.release}-to-<release>.json`)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
