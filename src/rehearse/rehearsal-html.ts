import { formatDuration } from '../util/duration.js';
import type { RehearsalReport, TimelineEntry } from './rehearsal-report.js';

const COLORS: Record<string, string> = {
  copy: '#9aa0a6',
  preflight: '#8e7cc3',
  schema: '#3c78d8',
  data: '#e69138',
  check: '#6aa84f',
};
const CHECK_NAMES: Record<number, string> = { 0: 'success', 1: 'warning', 2: 'failure' };

/**
 * One self-contained HTML page (inline CSS and SVG, no scripts, no external assets, so it can
 * be attached to a change ticket or opened offline): a summary, a timeline with one bar per
 * phase, and a table with timings, rows and check results.
 */
export function rehearsalHtml(report: RehearsalReport): string {
  const title = `Rehearsal ${report.plan.from} → ${report.plan.to}: ${report.status}`;
  const source =
    report.source.kind === 'clone'
      ? `clone of ${report.source.database}`
      : `backup ${report.source.path} (sha256 ${report.source.sha256.slice(0, 16)}…)`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1080px; color: #202124; padding: 0 1rem; }
  h1 { font-size: 1.4rem; margin-bottom: .25rem; }
  .status { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; color: #fff; font-weight: 600; }
  .succeeded { background: #188038; } .failed { background: #c5221f; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
  dt { color: #5f6368; } dd { margin: 0; }
  .error { border-left: 4px solid #c5221f; background: #fce8e6; padding: .6rem 1rem; margin: 1rem 0; white-space: pre-wrap; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
  th { background: #f1f3f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
  svg text { font: 12px system-ui, sans-serif; fill: #202124; } svg .axis { fill: #5f6368; font-size: 11px; }
</style>
</head>
<body>
<h1>${esc(`Rehearsal ${report.plan.from} → ${report.plan.to}`)} <span class="status ${report.status}">${esc(report.status)}</span></h1>
<dl>
  <dt>path</dt><dd>${esc([report.plan.from, ...report.plan.path].join(' → '))}</dd>
  <dt>plan</dt><dd>${esc(report.plan.file)} (${esc(report.plan.planDigest)})</dd>
  <dt>copy of production</dt><dd>${esc(source)}, ${esc(formatDuration(report.copyMs))}</dd>
  <dt>scratch database</dt><dd>${esc(report.scratch.database)}${report.scratch.kept ? ' (kept)' : ' (dropped)'}</dd>
  <dt>started</dt><dd>${esc(report.startedAt)}</dd>
  <dt>upgrade time</dt><dd>${esc(formatDuration(report.runMs))} (total ${esc(formatDuration(report.durationMs))})</dd>
  <dt>rows migrated</dt><dd>${report.rowsMigrated.toLocaleString('en-US')}</dd>
  <dt>reached</dt><dd>${esc(report.finalRelease ?? '(unknown)')}</dd>
</dl>
${report.error ? `<div class="error"><strong>${esc(report.error.message)}</strong>\nnext: ${esc(report.error.hint)}</div>` : ''}
<h2>Timeline</h2>
<p class="legend">${Object.entries(COLORS)
    .map(([k, c]) => `<span><i style="background:${c}"></i>${esc(k)}</span>`)
    .join('')}<span><i style="background:#fff;border:2px solid #c5221f"></i>failed</span></p>
${timelineSvg(report.timeline, report.durationMs)}
<h2>Phases</h2>
<table>
<thead><tr><th>release</th><th>phase</th><th>status</th><th>start</th><th>duration</th><th>rows</th><th>checks</th></tr></thead>
<tbody>
${report.timeline.map(row).join('\n')}
</tbody>
</table>
</body>
</html>
`;
}

function timelineSvg(entries: readonly TimelineEntry[], totalMs: number): string {
  const labelWidth = 230;
  const barArea = 800;
  const rowHeight = 22;
  const top = 24;
  const height = top + entries.length * rowHeight + 10;
  const span = Math.max(1, totalMs, ...entries.map((e) => e.startMs + e.durationMs));
  const x = (ms: number) => labelWidth + (ms / span) * barArea;
  const ticks = niceTicks(span);
  const axis = ticks
    .map(
      (t) =>
        `<line x1="${x(t).toFixed(1)}" y1="${top - 4}" x2="${x(t).toFixed(1)}" y2="${height - 6}" stroke="#e0e0e0"/><text class="axis" x="${x(t).toFixed(1)}" y="${top - 8}" text-anchor="middle">${esc(formatDuration(t))}</text>`,
    )
    .join('');
  const bars = entries
    .map((e, i) => {
      const y = top + i * rowHeight;
      const width = Math.max(2, (e.durationMs / span) * barArea);
      const failed = e.status === 'failed' || e.status === 'interrupted';
      const label =
        e.phase === 'copy' ? `copy: ${e.name}` : `${e.release} ${e.phase}${e.name !== e.phase ? ` ${e.name}` : ''}`;
      const tip = `${label}: ${e.status}, ${formatDuration(e.durationMs)}${e.rowsMigrated !== null ? `, ${e.rowsMigrated} rows` : ''}`;
      return `<g><title>${esc(tip)}</title><text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(label)}</text><rect x="${x(e.startMs).toFixed(1)}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" rx="3" fill="${COLORS[e.phase] ?? '#777'}"${failed ? ' stroke="#c5221f" stroke-width="3"' : ''}/></g>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="timeline of phases" width="100%" viewBox="0 0 ${labelWidth + barArea + 30} ${height}">${axis}\n${bars}</svg>`;
}

function niceTicks(span: number): number[] {
  const steps = [
    100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000,
  ];
  const step = steps.find((s) => span / s <= 8) ?? Math.ceil(span / 8);
  const ticks: number[] = [];
  for (let t = 0; t <= span; t += step) ticks.push(t);
  return ticks;
}

function row(e: TimelineEntry): string {
  const checks = e.checks
    .map(
      (c) =>
        `${esc(c.check)}: ${esc(CHECK_NAMES[c.result] ?? String(c.result))}${c.details ? ` (${esc(c.details)})` : ''}`,
    )
    .join('<br>');
  return `<tr><td>${esc(e.release)}</td><td>${esc(e.phase === e.name ? e.phase : `${e.phase} ${e.name}`)}</td><td>${esc(e.status)}${e.message ? `<br><small>${esc(e.message)}</small>` : ''}</td><td class="num">${esc(formatDuration(e.startMs))}</td><td class="num">${esc(formatDuration(e.durationMs))}</td><td class="num">${e.rowsMigrated === null ? '' : e.rowsMigrated.toLocaleString('en-US')}</td><td>${checks}</td></tr>`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
