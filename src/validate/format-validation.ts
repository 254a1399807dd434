import { formatDuration } from '../util/duration.js';
import { formatMatrix } from './path-matrix.js';
import type { PathRehearsal } from './rehearse-paths.js';
import type { ValidationReport } from './validate-catalog.js';
import { formatValidationProblem, type ValidationCheck } from './validation-problem.js';
import { nextCommand } from '../util/next-command.js';

const LABELS: Record<ValidationCheck, string> = {
  lint: 'manifests lint',
  'down-migrations': 'no down migrations',
  graph: 'every supported path exists',
  milestones: 'milestones match upgradeFrom',
  yanked: 'no yanked targets',
  rehearse: 'rehearsed paths',
};

export interface FormatOptions {
  matrix: boolean;
  rehearsals: readonly PathRehearsal[] | undefined;
  rehearseRequested: boolean;
  junit: string | undefined;
}

export function formatValidationText(report: ValidationReport, options: FormatOptions): string {
  const lines = [
    `validate ${report.catalog}: ${report.releases.length > 0 ? report.releases.join(', ') : '(catalog did not load)'}`,
  ];
  const checks: ValidationCheck[] = ['lint', 'down-migrations', 'graph', 'milestones', 'yanked'];
  if (options.rehearsals) checks.push('rehearse');
  for (const check of checks) {
    const cases = report.cases.filter((c) => c.check === check);
    const failed = cases.filter((c) => c.failures.length > 0).length;
    const status =
      cases.length === 0
        ? 'not run (the manifests must lint first)'
        : failed === 0
          ? `ok (${cases.length})`
          : `FAILED (${failed} of ${cases.length})`;
    lines.push(`  ${LABELS[check].padEnd(30)} ${status}`);
  }
  if (options.rehearseRequested && !options.rehearsals)
    lines.push(`  ${LABELS.rehearse.padEnd(30)} not run (fix the problems below first)`);
  if (options.matrix && report.loaded) lines.push('', formatMatrix(report.loaded, report.pairs));
  if (options.rehearsals) {
    lines.push('');
    for (const r of options.rehearsals) {
      const path =
        r.summary.path.length > 0
          ? ` (${[r.summary.from, ...r.summary.path].join(' -> ')}, ${r.summary.rowsMigrated} rows migrated)`
          : '';
      lines.push(
        `${r.ok ? 'ok  ' : 'FAIL'} rehearsal ${r.summary.from} -> ${r.summary.to} in ${formatDuration(r.summary.durationMs)}${path}${r.summary.error ? `: ${r.summary.error}` : ''}`,
      );
    }
  }
  if (report.problems.length > 0) {
    lines.push('', `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:`);
    for (const p of report.problems) lines.push(`  ${formatValidationProblem(p)}`);
    lines.push('', `next: fix the files above, then run \`${nextCommand('validate')}\` again`);
  } else if (options.rehearsals?.some((r) => !r.ok)) {
    lines.push(
      '',
      `next: reproduce a failed path with \`${nextCommand('demo')}\` or \`${nextCommand('rehearse')}\`, fix the release, run \`${nextCommand('validate', '--rehearse')}\` again`,
    );
  }
  if (options.junit !== undefined) lines.push(`JUnit report: ${options.junit}`);
  return lines.join('\n');
}
