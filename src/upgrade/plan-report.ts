import type { Catalog, CheckCommand, ExitCodeMap, Release, SqlCheck } from '../catalog/release.js';
import { databaseUrlEnvOf } from '../executors/phase-environment.js';
import type { Plan, StepReason } from '../planner/plan.js';
import { stepPhases, type StepPhase } from '../runner/step-phases.js';
import { shellWord } from '../util/next-command.js';

/**
 * What each stop of a plan will run, derived from the catalog (`flyway info`, kubeadm's `upgrade
 * plan`): `plan` prints it, `apply --dry-run` prints it against the ledger. Pure: the plan file
 * does not change shape, the listing is recomputed from the manifests every time.
 *
 * Environment variables are listed by NAME only. A manifest's `env` values are not meant to be
 * secrets, but nothing stops an engineer from putting a token there, and the one value that is a
 * secret (the database URL) is only ever named by its variable.
 */

/** A command as the runner will start it: the manifest's argv, its protocol and its own env keys. */
export interface CommandListing {
  /** The manifest's argv; a data command keeps its `{batchSize}` placeholder (see `batchSize`). */
  run: readonly string[];
  /** A named protocol, or the command's own exit-code map. */
  protocol: string | ExitCodeMap;
  /** Names of the variables this command gets beyond the release's env (per-command `env`). */
  env: readonly string[];
}

/** What the ledger recorded for a phase, when listed against a database (`--dry-run`). */
export interface RecordedPhase {
  status: string;
  attempts: number;
  exitCode: number | null;
}

interface PhaseListingBase {
  name: string;
  timeoutMs: number;
  /** null: never started; set by the dry run from the ledger. Absent in a plain `plan`. */
  recorded?: RecordedPhase | null;
  /** The dry run's verdict: a phase recorded as succeeded is skipped on resume. */
  action?: 'run' | 'skip';
}

export type PhaseListing =
  | (PhaseListingBase & {
      phase: 'preflight' | 'check';
      sql: readonly SqlCheck[];
      command: CommandListing | null;
      /** The check only: what the application must say it is once the release is reached. */
      appVersion: { sql: string; equals: string } | null;
    })
  | (PhaseListingBase & { phase: 'schema'; command: CommandListing })
  | (PhaseListingBase & {
      phase: 'data';
      command: CommandListing | null;
      batchSize: number;
      stallAfter: number;
      until: { sql: string; pollMs: number } | null;
    });

export interface StopListing {
  /** 1-based, as `plan` numbers its steps. */
  step: number;
  release: string;
  version: string;
  reasons: readonly StepReason[];
  /** The reasons in words, as the plan table says them. */
  why: string;
  /** The variable the database URL reaches this release's commands in (never the URL). */
  databaseUrlEnv: string;
  /** Names of the release-wide `env` every command of the stop gets. */
  env: readonly string[];
  phases: readonly PhaseListing[];
}

export interface ListingOptions {
  /** `--database-url-env`, which beats each manifest's `databaseUrlEnv`. */
  databaseUrlEnv?: string | undefined;
}

/** The listing of every step of `plan`, in order. A step whose release left the catalog is a stale plan: the caller checked that. */
export function stopListing(plan: Plan, catalog: Catalog, options: ListingOptions = {}): StopListing[] {
  return plan.steps.map((step, i) => {
    const release = catalog.releases.find((r) => r.id === step.release);
    if (release === undefined) throw new Error(`stopListing: ${step.release} is not in the catalog ${catalog.dir}`);
    return {
      step: i + 1,
      release: release.id,
      version: release.version,
      reasons: step.reasons,
      why: explainReasons(step.reasons),
      databaseUrlEnv: databaseUrlEnvOf(
        release,
        options.databaseUrlEnv === undefined ? {} : { urlEnv: options.databaseUrlEnv },
      ),
      env: Object.keys(release.env).sort(),
      phases: stepPhases(release).map((phase) => phaseListing(release, phase)),
    };
  });
}

function phaseListing(release: Release, phase: StepPhase): PhaseListing {
  const timeoutMs = release.timeoutsMs[phase.phase];
  switch (phase.phase) {
    case 'preflight':
    case 'check':
      return {
        phase: phase.phase,
        name: phase.name,
        timeoutMs,
        sql: phase.sql,
        command: checkCommand(phase),
        appVersion: phase.phase === 'check' && release.appVersion !== undefined ? release.appVersion : null,
      };
    case 'schema':
      return {
        phase: 'schema',
        name: phase.name,
        timeoutMs,
        command: { run: phase.run, protocol: phase.protocol, env: Object.keys(phase.env).sort() },
      };
    case 'data':
      return {
        phase: 'data',
        name: phase.name,
        timeoutMs,
        command:
          phase.run === undefined
            ? null
            : { run: phase.run, protocol: phase.protocol, env: Object.keys(phase.env).sort() },
        batchSize: phase.batchSize,
        stallAfter: phase.stallAfter,
        until: phase.until ?? null,
      };
  }
}

function checkCommand(phase: Pick<CheckCommand, 'run' | 'protocol' | 'env'>): CommandListing | null {
  if (phase.run === undefined) return null;
  return { run: phase.run, protocol: phase.protocol, env: Object.keys(phase.env).sort() };
}

/** The plan table's WHY column: "milestone; accepts 2023.1 (upgradeFrom >=2023.1.0 <2024.1.0); target". */
export function explainReasons(reasons: readonly StepReason[]): string {
  return reasons
    .map((reason) => {
      switch (reason.kind) {
        case 'milestone':
          return reason.milestone ? `milestone ${reason.milestone} (newest patch of its series)` : 'milestone';
        case 'accepts':
          return `accepts ${reason.previous} (upgradeFrom ${reason.range})`;
        case 'target':
          return 'target';
      }
    })
    .join('; ');
}

/** "upgradecheck", or "exit codes 0 green, 2 red, 3 red". */
export function describeProtocol(protocol: string | ExitCodeMap): string {
  if (typeof protocol === 'string') return protocol;
  const codes = Object.entries(protocol.exitCodes)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([code, meaning]) => `${code} ${meaning}`);
  return `exit codes ${codes.join(', ')} (others error)`;
}

/**
 * The listing as an indented tree for people: one block per stop, one line per phase (its command,
 * protocol and time budget), and under it what leapfrog itself evaluates (SQL checks, the gate,
 * appVersion) and the env names. With `recorded`, each phase says whether a resumed run skips it.
 */
export function formatStopListing(stops: readonly StopListing[]): string[] {
  const lines: string[] = [];
  for (const stop of stops) {
    const envNote = stop.env.length === 0 ? '' : `; env ${stop.env.join(', ')}`;
    lines.push(`${stop.step}. ${stop.release} (${stop.version}): database URL in $${stop.databaseUrlEnv}${envNote}`);
    if (stop.phases.length === 0) lines.push('     (no phases: the release only moves the ledger)');
    const width = Math.max(...stop.phases.map((p) => phaseLabel(p).length), 0);
    for (const phase of stop.phases) {
      const state = stateNote(phase);
      lines.push(`     ${phaseLabel(phase).padEnd(width)}  ${phaseHead(phase)}${state}`);
      for (const detail of phaseDetails(phase)) lines.push(`     ${' '.repeat(width)}    ${detail}`);
    }
  }
  return lines;
}

function phaseLabel(phase: PhaseListing): string {
  return phase.phase === 'schema' ? `schema ${phase.name}` : phase.phase;
}

function commandText(command: CommandListing, batchSize?: number): string {
  const argv = command.run.map((word) =>
    batchSize === undefined ? word : word.replaceAll('{batchSize}', `{batchSize=${batchSize}}`),
  );
  // shellWord quotes what a shell would split, but the placeholder reads better bare.
  return argv.map((word) => (word.includes('{batchSize=') ? word : shellWord(word))).join(' ');
}

function phaseHead(phase: PhaseListing): string {
  const timeout = `timeout ${budget(phase.timeoutMs)}`;
  switch (phase.phase) {
    case 'preflight':
    case 'check': {
      const sql = phase.sql.length === 0 ? '' : `${phase.sql.length} sql check${phase.sql.length === 1 ? '' : 's'}`;
      if (phase.command === null) return `${sql} (in-process, read-only); ${timeout}`;
      const command = `${commandText(phase.command)}  [${describeProtocol(phase.command.protocol)}; ${timeout}]`;
      return sql === '' ? command : `${sql}, then ${command}`;
    }
    case 'schema':
      return `${commandText(phase.command)}  [${describeProtocol(phase.command.protocol)}; ${timeout}]`;
    case 'data': {
      const stall = `stallAfter ${phase.stallAfter}`;
      if (phase.command === null) return `wait for the gate below  [${stall}; ${timeout}]`;
      return `${commandText(phase.command, phase.batchSize)}  [${describeProtocol(phase.command.protocol)}, ${stall}; ${timeout}]`;
    }
  }
}

function phaseDetails(phase: PhaseListing): string[] {
  const details: string[] = [];
  if (phase.phase === 'preflight' || phase.phase === 'check') {
    for (const check of phase.sql) details.push(`sql "${check.name}" (${check.severity}): green when no rows`);
    if (phase.appVersion !== null) {
      details.push(`appVersion must equal "${phase.appVersion.equals}" (${oneLine(phase.appVersion.sql)})`);
    }
  }
  if (phase.phase === 'data' && phase.until !== null) {
    details.push(
      `until ${oneLine(phase.until.sql)} returns 0, polled every ${budget(phase.until.pollMs)}${phase.command === null ? '' : ' (after the command is done)'}`,
    );
  }
  if (phase.command !== null && phase.command.env.length > 0) details.push(`env ${phase.command.env.join(', ')}`);
  return details;
}

function stateNote(phase: PhaseListing): string {
  if (phase.recorded === undefined) return '';
  if (phase.recorded === null) return '  <- runs';
  if (phase.action === 'skip') return '  <- done (recorded succeeded), skipped';
  const exit = phase.recorded.exitCode === null ? '' : `, exit ${phase.recorded.exitCode}`;
  return `  <- runs again (recorded ${phase.recorded.status}${exit}, ${phase.recorded.attempts} attempt${phase.recorded.attempts === 1 ? '' : 's'})`;
}

function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}

/** A time budget as a manifest writes it: "30m", "6h", "90s", "1h30m", "500ms". */
function budget(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}
