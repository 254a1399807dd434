import { formatDuration } from '../util/duration.js';
import type { DemoReport } from './run-demo.js';

const RESULT = ['ok', 'WARNING', 'FAILED'];

/** The end of `leapfrog demo` for people: path, every phase, the checks, and the data proof. */
export function formatDemoSummary(report: DemoReport): string {
  const { summary, before, after } = report;
  const skipped = report.plan.steps.length > 0 ? skippedReleases(report) : [];
  const lines: string[] = ['', 'leapfrog demo summary'];
  lines.push(`  path:           ${[summary.from.release, ...summary.path].join(' -> ')}`);
  // Its own line: after the path it wrapped in a 120-column terminal.
  if (skipped.length > 0)
    lines.push(`                  not stopped at: ${skipped.join(', ')} (their migrations ran inside the next stop)`);
  lines.push('  phases:');
  for (const p of summary.phases) {
    const rows =
      p.rowsMigrated !== null && p.rowsMigrated > 0 ? `  ${p.rowsMigrated.toLocaleString('en-US')} rows` : '';
    const label = p.phase === 'schema' ? `schema (${p.name})` : p.phase;
    lines.push(
      `    ${p.release}  ${label.padEnd(12)} ${p.status.padEnd(9)} ${formatDuration(p.durationMs).padStart(7)}${rows}`,
    );
  }
  lines.push('  checks:');
  for (const p of summary.phases.filter((x) => x.checks.length > 0)) {
    for (const c of p.checks)
      lines.push(
        `    ${p.release}  ${p.phase.padEnd(9)} ${(RESULT[c.result] ?? String(c.result)).padEnd(7)} ${c.check}`,
      );
  }
  lines.push(`  rows migrated:  ${summary.rowsMigrated.toLocaleString('en-US')}`);
  const intact =
    before.checksum === after.checksum && before.customers === after.customers && before.orders === after.orders;
  lines.push(
    `  data:           ${intact ? 'intact' : 'CHANGED'}: ${after.customers.toLocaleString('en-US')} customers, ${after.orders.toLocaleString('en-US')} orders; business checksum ${before.checksum.slice(0, 12)} before, ${after.checksum.slice(0, 12)} after`,
  );
  lines.push(
    `  final release:  ${summary.finalRelease.release}   (${formatDuration(summary.durationMs)} for the upgrade)`,
  );
  return `${lines.join('\n')}\n`;
}

/** True when the demo did what it promises: target reached, every check green, data unchanged. */
export function demoSucceeded(report: DemoReport): boolean {
  const checks = report.summary.phases.flatMap((p) => p.checks);
  return (
    report.summary.finalRelease.release === report.plan.to.release &&
    checks.length > 0 &&
    checks.every((c) => c.result === 0) &&
    report.before.checksum === report.after.checksum
  );
}

function skippedReleases(report: DemoReport): string[] {
  const stops = new Set([report.summary.from.release, ...report.summary.path]);
  return report.releasesOnTheWay.filter((r) => !stops.has(r));
}
