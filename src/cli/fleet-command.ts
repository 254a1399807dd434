import { BadInputError } from '../errors/index.js';
import type { FleetPlan, FleetProgressEvent, FleetRunReport } from '../fleet/run-fleet.js';
import { processSink } from '../ui/renderer.js';
import { FleetBoard } from './fleet-board.js';
import type { OutputMode } from '../ui/output-mode.js';
import { nextCommand } from '../util/next-command.js';
import { redactKnown } from '../util/secrets.js';
import type { GlobalOptions } from './action.js';
import type { SafetyCliOptions } from './backup.js';
import { dockerExecutorOptions } from './common-options.js';
import type { RunVerbOptions } from './run-verb-options.js';
import { installSignalHandlers } from './signals.js';
import { textTable } from './text-table.js';

/**
 * The `--fleet` branches of apply, step, status, baseline and plan: each parses into one call of
 * src/fleet/, then prints the per-target table (text) or one JSON object per target. The exit code
 * is the fleet's: 0 only when every target is where it was asked to be, else the worst.
 */

export interface FleetRunInput extends RunVerbOptions, SafetyCliOptions, GlobalOptions {
  fleet: string;
  to?: string;
  parallel?: number;
}

/** `apply --fleet F --to R` and `step --fleet F --to R` (one release of the fleet's path). */
export async function runFleetVerb(input: FleetRunInput, verb: 'apply' | 'step'): Promise<number> {
  if (input.to === undefined) {
    throw new BadInputError(`${verb} --fleet needs --to RELEASE: the release every target of the fleet walks to`, {
      hint: nextCommand(verb, '--fleet', input.fleet, '--to', '<release>'),
    });
  }
  const { runFleet } = await import('../fleet/run-fleet.js');
  const { formatBackupLine } = await import('../backup/format-backup.js');
  using signals = installSignalHandlers();
  using progress = fleetProgress(input.output);
  const report = await runFleet({
    fleetFile: input.fleet,
    to: input.to,
    oneRelease: verb === 'step',
    ledgerSchema: input.ledgerSchema,
    parallel: input.parallel,
    executorKind: input.executor ?? 'process',
    executorOptions: { docker: dockerExecutorOptions(input) },
    databaseUrlEnv: input.databaseUrlEnv,
    lockTimeoutMs: input.lockTimeout,
    signal: signals.signal,
    safety: {
      backupDir: input.backupDir,
      backup:
        input.backup === false
          ? undefined
          : {
              backupDir: input.backupDir,
              ...(input.backupJobs === undefined ? {} : { backupJobs: input.backupJobs }),
              ...(input.pgBin === undefined ? {} : { pgBin: input.pgBin }),
              ...(input.backup === true ? { always: true } : {}),
              onRecorded: (record) => {
                if (input.output === 'json') process.stdout.write(`${JSON.stringify({ type: 'backup', ...record })}\n`);
                else progress.note(formatBackupLine(record));
              },
            },
    },
    onProgress: progress.onEvent,
  });
  progress[Symbol.dispose]();
  printFleetReport(report, input.output);
  return report.exitCode;
}

/** A fleet's progress as the output wants it; disposing it ends a terminal's live block. */
export interface FleetProgress extends Disposable {
  onEvent: (event: FleetProgressEvent) => void;
  /** A line beside the progress (a backup taken): on stderr, or a board's line that stays. */
  note: (line: string) => void;
}

/**
 * JSON lines for tools, plain lines for pipes and CI, and on a terminal the FleetBoard: finished
 * targets stay, the running ones are redrawn in place. Dispose it before printing what follows
 * (the report); the next event after that starts a new board (the demo walks two fleets).
 */
export function fleetProgress(output: OutputMode): FleetProgress {
  if (output === 'text' && processSink.isTTY && (process.stdout.columns ?? 0) > 0) {
    let board: FleetBoard | null = null;
    return {
      onEvent: (event) => (board ??= new FleetBoard()).onEvent(event),
      // Written around the live block, a stderr line would be half erased by its next redraw.
      note: (line) => (board === null ? process.stderr.write(`${line}\n`) : board.note(line)),
      [Symbol.dispose]: () => {
        board?.stop();
        board = null;
      },
    };
  }
  return {
    onEvent: (event) => printProgress(event, output),
    note: (line) => process.stderr.write(`${line}\n`),
    [Symbol.dispose]: () => undefined,
  };
}

/** Fleet counts and each running target's phase: plain lines (text) or JSON lines with target names. */
export function printProgress(event: FleetProgressEvent, output: OutputMode): void {
  if (output === 'json') {
    // A target's error message is the runner's (already redacted), but the fleet line is checked once more.
    process.stdout.write(`${redactKnown(JSON.stringify(event))}\n`);
    return;
  }
  const counts =
    'counts' in event
      ? `[${event.counts.done}/${event.counts.total} done, ${event.counts.running} running, ${event.counts.failed} failed]`
      : '';
  switch (event.type) {
    case 'fleet-started':
      process.stdout.write(
        `fleet: ${event.counts.total} targets -> ${event.to} (${event.lockstep ? `lockstep through ${event.stops.join(', ')}` : 'each target its own path'})\n`,
      );
      return;
    case 'fleet-release-started':
      process.stdout.write(`${counts} every target to ${event.release}\n`);
      return;
    case 'target-started':
      process.stdout.write(`${counts} ${event.target} (${event.group}) -> ${event.to}\n`);
      return;
    case 'target-phase':
      process.stdout.write(
        `  ${event.target}: ${event.release} ${event.phase}${event.name === event.phase ? '' : ` ${event.name}`}\n`,
      );
      return;
    case 'target-finished':
      process.stdout.write(
        `${counts} ${event.target} ${event.ok ? `at ${event.release ?? event.to}` : `FAILED (exit ${event.exitCode}): ${redactKnown(event.message ?? '')}`}\n`,
      );
      return;
    case 'fleet-stopped':
      process.stdout.write(
        `${counts} fleet stopped${event.release === null ? '' : ` at ${event.release}`}: ${event.reason}\n`,
      );
      return;
  }
}

export function printFleetReport(report: FleetRunReport, output: OutputMode): void {
  if (output === 'json') {
    for (const t of report.targets) process.stdout.write(`${JSON.stringify({ type: 'fleet-target', ...t })}\n`);
    const { targets: _targets, ...summary } = report;
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const rows = [
    ['TARGET', 'GROUP', 'RELEASE', 'STATE', 'EXIT', 'LAST FAILURE'],
    ...report.targets.map((t) => [
      t.target,
      t.group,
      t.release ?? '-',
      t.state,
      String(t.exitCode),
      t.lastFailure === null ? '' : firstLine(t.lastFailure.message),
    ]),
  ];
  const done = report.targets.filter((t) => t.state === 'done').length;
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  process.stdout.write(
    report.exitCode === 0
      ? `done: every target (${done}) is at ${report.to}\n`
      : `${done} of ${report.targets.length} targets at ${report.to}${report.stoppedAt === null ? '' : `; the fleet stopped at ${report.stoppedAt}`} (exit ${report.exitCode})\n`,
  );
  for (const t of report.targets) {
    if (t.lastFailure?.hint) process.stdout.write(`  ${t.target}: ${firstLine(t.lastFailure.hint)}\n`);
  }
  if (report.next !== null) process.stdout.write(`next: ${report.next} (resumes only the unfinished targets)\n`);
}

/** `status --fleet F`: one row per target; `--output json` one object per target. */
export async function statusFleetVerb(input: { fleet: string; ledgerSchema: string } & GlobalOptions): Promise<number> {
  const { fleetStatus } = await import('../fleet/fleet-status.js');
  const { rows } = await fleetStatus({ fleetFile: input.fleet, ledgerSchema: input.ledgerSchema });
  if (input.output === 'json') {
    for (const row of rows) process.stdout.write(`${JSON.stringify({ type: 'fleet-status', ...row })}\n`);
    return 0;
  }
  process.stdout.write(
    `${textTable([
      ['TARGET', 'GROUP', 'RELEASE', 'STATE', 'LAST FAILURE'],
      ...rows.map((r) => [r.target, r.group, r.release ?? '-', r.state, firstLine(r.lastFailure ?? '')]),
    ])}\n`,
  );
  return 0;
}

/** `baseline --fleet F --release R`. */
export async function baselineFleetVerb(
  input: RunVerbOptions & GlobalOptions & { fleet: string; release: string; verify: boolean; force?: boolean },
): Promise<number> {
  const { baselineFleet } = await import('../fleet/fleet-status.js');
  using signals = installSignalHandlers();
  const { rows, exitCode } = await baselineFleet({
    fleetFile: input.fleet,
    release: input.release,
    ledgerSchema: input.ledgerSchema,
    lockTimeoutMs: input.lockTimeout,
    verify: input.verify,
    force: input.force === true,
    executorKind: input.executor ?? 'process',
    executorOptions: { docker: dockerExecutorOptions(input) },
    databaseUrlEnv: input.databaseUrlEnv,
    signal: signals.signal,
  });
  if (input.output === 'json') {
    for (const row of rows) process.stdout.write(`${JSON.stringify({ type: 'fleet-baseline', ...row })}\n`);
  } else {
    process.stdout.write(
      `${textTable([
        ['TARGET', 'GROUP', 'RELEASE', 'BASELINE', 'PROBLEM'],
        ...rows.map((r) => [r.target, r.group, r.release, r.status, firstLine(r.message ?? '')]),
      ])}\n`,
    );
  }
  return exitCode;
}

/** `plan --fleet F --to R`: each target's path, grouped, in the order the fleet would run them. */
export async function planFleetVerb(
  input: { fleet: string; to?: string; ledgerSchema?: string } & GlobalOptions,
): Promise<number> {
  if (input.to === undefined) {
    throw new BadInputError('plan --fleet needs --to RELEASE: the release every target of the fleet walks to', {
      hint: nextCommand('plan', '--fleet', input.fleet, '--to', '<release>'),
    });
  }
  const { planFleet } = await import('../fleet/run-fleet.js');
  const plan = await planFleet({
    fleetFile: input.fleet,
    to: input.to,
    ledgerSchema: input.ledgerSchema ?? 'leapfrog',
  });
  printFleetPlan(plan, input.to, input.output);
  return 0;
}

/** The plan of `plan --fleet` (and of the fleet demo): a tree of groups and targets, or one JSON object. */
export function printFleetPlan(plan: FleetPlan, to: string, output: OutputMode, withNext = true): void {
  const { file, targets, stops } = plan;
  const groups = file.runOrder.map((g) => ({
    name: g.name,
    dependsOn: g.dependsOn,
    parallel: g.parallel,
    onError: g.onError,
    targets: targets
      .filter((t) => t.group === g.name)
      .map((t) => ({
        target: t.name,
        database: t.target.display,
        current: t.current,
        path: t.path,
        problem: t.problem,
      })),
  }));
  if (output === 'json') {
    process.stdout.write(
      `${JSON.stringify({ type: 'fleet-plan', fleet: file.file, to, lockstep: file.lockstep, stops, groups })}\n`,
    );
    return;
  }
  const lines = [
    `fleet ${file.file} -> ${to}: ${targets.length} targets, ${file.lockstep ? `lockstep through ${stops.join(' -> ') || '(nothing to do)'}` : 'each target walks its own path'}`,
  ];
  groups.forEach((g, gi) => {
    const lastGroup = gi === groups.length - 1;
    const how = [
      g.dependsOn.length > 0 ? `after ${g.dependsOn.join(', ')}` : null,
      `parallel ${g.parallel}`,
      `onError ${g.onError}`,
    ].filter((x) => x !== null);
    lines.push(`${lastGroup ? '└─' : '├─'} ${g.name} (${how.join('; ')})`);
    g.targets.forEach((t, ti) => {
      const path =
        t.path === null
          ? `cannot plan: ${t.problem ?? 'unknown'}`
          : t.path.length === 0
            ? `at ${t.current ?? '?'}: nothing to do`
            : [t.current ?? '?', ...t.path].join(' -> ');
      lines.push(`${lastGroup ? '   ' : '│  '}${ti === g.targets.length - 1 ? '└─' : '├─'} ${t.target}  ${path}`);
    });
  });
  if (file.lockstep) {
    lines.push('order:');
    for (const release of stops) lines.push(`  ${release}: ${groups.map((g) => g.name).join(' -> ')}`);
  }
  if (withNext) lines.push(`next: ${nextCommand('apply', '--fleet', file.file, '--to', to)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `rehearse --fleet F --clone --to R`: each target rehearsed on a clone of its own database. */
export async function rehearseFleetVerb(
  input: RunVerbOptions &
    GlobalOptions & {
      fleet: string;
      to?: string;
      clone?: boolean;
      fromBackup?: string;
      parallel?: number;
      keep?: boolean;
      reportDir: string;
    } & Parameters<typeof dockerExecutorOptions>[0],
): Promise<number> {
  if (input.to === undefined || input.clone !== true || input.fromBackup !== undefined) {
    throw new BadInputError(
      'rehearse --fleet needs --clone and --to RELEASE: each target is rehearsed on a clone of its own database (a fleet has no single backup to restore)',
      { hint: nextCommand('rehearse', '--fleet', input.fleet, '--clone', '--to', input.to ?? '<release>') },
    );
  }
  const { rehearseFleet } = await import('../fleet/rehearse-fleet.js');
  const { leapfrogVersion } = await import('./leapfrog-version.js');
  const { formatDuration } = await import('../util/duration.js');
  using signals = installSignalHandlers();
  using progress = fleetProgress(input.output);
  const result = await rehearseFleet({
    fleetFile: input.fleet,
    to: input.to,
    ledgerSchema: input.ledgerSchema,
    parallel: input.parallel,
    executorKind: input.executor ?? 'process',
    executorOptions: { docker: dockerExecutorOptions(input) },
    databaseUrlEnv: input.databaseUrlEnv,
    lockTimeoutMs: input.lockTimeout,
    keep: input.keep === true,
    reportDir: input.reportDir,
    leapfrogVersion: leapfrogVersion(),
    signal: signals.signal,
    onProgress: progress.onEvent,
  });
  progress[Symbol.dispose]();
  if (input.output === 'json') {
    for (const row of result.rows) process.stdout.write(`${JSON.stringify({ type: 'fleet-rehearsal', ...row })}\n`);
    process.stdout.write(
      `${JSON.stringify({ type: 'fleet-rehearsal-summary', fleet: result.fleet, to: result.to, exitCode: result.exitCode })}\n`,
    );
    return result.exitCode;
  }
  process.stdout.write(
    `\n${textTable([
      ['TARGET', 'GROUP', 'AT', 'REHEARSAL', 'REACHED', 'TIME', 'REPORT / PROBLEM'],
      ...result.rows.map((r) => [
        r.target,
        r.group,
        r.current ?? '-',
        r.status,
        r.reached ?? '-',
        r.durationMs === null ? '' : formatDuration(r.durationMs),
        r.message !== null ? firstLine(r.message) : (r.report ?? ''),
      ]),
    ])}\n\n`,
  );
  const ok = result.rows.filter((r) => r.status === 'succeeded' || r.status === 'nothing-to-do').length;
  process.stdout.write(
    result.exitCode === 0
      ? `rehearsed: every target (${ok}) reaches ${result.to} on its copy; the targets themselves did not move\n`
      : `${ok} of ${result.rows.length} targets rehearsed green to ${result.to} (exit ${result.exitCode})\n`,
  );
  process.stdout.write(
    `next: ${result.exitCode === 0 ? nextCommand('apply', '--fleet', input.fleet, '--to', result.to) : nextCommand('rehearse', '--fleet', input.fleet, '--clone', '--to', result.to)}\n`,
  );
  return result.exitCode;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
