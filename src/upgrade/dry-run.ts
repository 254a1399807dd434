import { isPreUpgradeBackupDue } from '../backup/take-backup.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog, Release } from '../catalog/release.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import type { RunMode } from '../ledger/ledger.js';
import { describeHolder } from '../ledger/ledger-lock.js';
import { LedgerSession } from '../ledger/open-ledger.js';
import { notBaselinedError } from '../ledger/read-baseline.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { readPlanFile, type PlanFile } from '../plan-file/plan-file.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import { pendingSteps, type PendingStep } from '../runner/pending-steps.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import { runGuards } from './guards.js';
import { stopListing, type PhaseListing, type StopListing } from './plan-report.js';
import { assertPgDumpUsable, type BackupOption } from './pre-upgrade-backup.js';
import { checkPlanFile, planInMemory, requestedRelease } from './run-upgrade.js';

const log = logger('upgrade');

export interface DryRunOptions {
  planFile?: string | undefined;
  planFileContents?: PlanFile | undefined;
  to?: string | undefined;
  catalogDir: string;
  target: DatabaseTarget;
  ledgerSchema: string;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  mode: RunMode;
  databaseUrlEnv?: string | undefined;
  /** As for runUpgrade: the forward-only guard's folder and the backup option (absent: `--no-backup`). */
  safety?: { backupDir: string; backup?: BackupOption | undefined };
}

/** What `step`/`apply --dry-run` found: the same listing as `plan`, against the ledger. */
export interface DryRunReport {
  type: 'dry-run';
  mode: RunMode;
  database: string;
  ledgerSchema: string;
  /** Where the ledger says the database is. */
  current: ReleaseRef;
  plan: { file: string | null; from: ReleaseRef; to: ReleaseRef; steps: string[] };
  status: 'would-run' | 'nothing-to-do';
  /** The releases this invocation would run (`step`: at most one). */
  pending: string[];
  /** The first phase that would run; null when nothing would. */
  resumesAt: { release: string; phase: string; name: string } | null;
  /** True when the ledger records a phase of a pending step as succeeded: the run resumes. */
  resumed: boolean;
  backup: { wouldTake: boolean; reason: string; dir: string | null };
  /** Another run holding the ledger lock now: the real run would wait `--lock-timeout`, then exit 4. */
  lockHeldBy: string | null;
  stops: StopListing[];
  /** The command that does what was just shown. */
  next: string;
}

/**
 * Everything `step`/`apply` read and check before they change anything, in the same order and
 * with the same refusals (the plan file against the catalog, exit 6; not baselined, exit 2; the
 * guards: forward-only exit 5 and whatever else guards.ts runs; pg_dump usable; the plan against
 * the ledger's release, exit 5 or 6), then the listing of what would run, annotated with what the
 * ledger already records. Writes NOTHING: no ledger schema, no lock, no run row, no backup (not
 * even its folder), no phase command. One read-only connection.
 */
export async function dryRunUpgrade(options: DryRunOptions): Promise<DryRunReport> {
  const { target } = options;
  const file =
    options.planFile === undefined ? null : (options.planFileContents ?? (await readPlanFile(options.planFile)));
  const catalog = await loadCatalog(options.catalogDir);
  if (file !== null) await checkPlanFile(file, catalog, options);
  const to = file !== null ? file.to : requestedRelease(catalog, options.to);

  await using session = await LedgerSession.open(target, options.ledgerSchema);
  // The guards exactly as the run has them, except the backup folder: created by the real guard, only checked here.
  await runGuards({
    target,
    session,
    probe: session.sqlProbe(),
    executorKind: options.executorKind,
    catalog,
    plan: file,
    to,
    backupDir: options.safety?.backupDir,
    backup: undefined,
  });
  const backupOption = options.safety?.backup;
  const backupDir =
    backupOption === undefined ? null : (await assertPgDumpUsable(target, session, backupOption)).settings.dir;
  const holder = await session.withClient((client) => describeHolder(client, session.schema));
  const state = session.reading.current;
  if (state === null) throw notBaselinedError(session.schema, file?.from.release, target.display);
  const current: ReleaseRef = { release: state.release, version: state.version };

  let plan: Plan;
  if (file !== null) {
    plan = file;
  } else {
    const planned = planInMemory(catalog, current, options.to ?? '');
    if (planned === 'nothing-to-do') {
      return nothingToDo(
        options,
        session.schema,
        current,
        { from: current, to: current, steps: [] },
        holder.applicationName,
      );
    }
    plan = planned;
  }
  // The same refusals as the runner under the lock: past the plan (5), not on its path (6).
  const pending = pendingSteps(plan, current);
  const selected = options.mode === 'step' ? pending.slice(0, 1) : pending;
  if (selected.length === 0) return nothingToDo(options, session.schema, current, plan, holder.applicationName);

  const ledger = session.readOnly();
  const listed = stopListing(
    { ...plan, steps: selected.map((p) => p.step) },
    catalog,
    options.databaseUrlEnv === undefined ? {} : { databaseUrlEnv: options.databaseUrlEnv },
  );
  const stops: StopListing[] = [];
  for (const [i, stop] of listed.entries()) {
    const pendingStep = selected[i] as PendingStep;
    const from = pendingStep.from.release;
    const phases: PhaseListing[] = [];
    for (const phase of stop.phases) {
      const record =
        ledger === null
          ? null
          : await ledger.phase({ fromRelease: from, release: stop.release, phase: phase.phase, name: phase.name });
      phases.push({
        ...phase,
        recorded:
          record === null ? null : { status: record.status, attempts: record.attempts, exitCode: record.exitCode },
        action: record?.status === 'succeeded' ? 'skip' : 'run',
      });
    }
    stops.push({ ...stop, step: pendingStep.index + 1, phases });
  }

  const firstRun = firstPhaseToRun(stops);
  const resumed = stops.some((s) => s.phases.some((p) => p.action === 'skip'));
  const backup = await backupVerdict(options, catalog, plan, current, stops, ledger, backupDir);
  const report: DryRunReport = {
    type: 'dry-run',
    mode: options.mode,
    database: target.display,
    ledgerSchema: session.schema,
    current,
    plan: planSummary(options, plan),
    status: 'would-run',
    pending: stops.map((s) => s.release),
    resumesAt: firstRun,
    resumed,
    backup,
    lockHeldBy: holder.applicationName,
    stops,
    next: realCommand(options, plan),
  };
  log.debug(`dry run: at ${current.release}, would run ${report.pending.join(', ')}`);
  return report;
}

function firstPhaseToRun(stops: readonly StopListing[]): DryRunReport['resumesAt'] {
  for (const stop of stops) {
    const phase = stop.phases.find((p) => p.action === 'run');
    if (phase !== undefined) return { release: stop.release, phase: phase.phase, name: phase.name };
  }
  return null;
}

/**
 * Whether the run's pre-upgrade backup would be taken: the runner takes it right before the first
 * phase after the preflight that actually runs, when the backup policy says it is due.
 */
async function backupVerdict(
  options: DryRunOptions,
  catalog: Catalog,
  plan: Plan,
  current: ReleaseRef,
  stops: readonly StopListing[],
  ledger: ReturnType<LedgerSession['readOnly']>,
  dir: string | null,
): Promise<DryRunReport['backup']> {
  const option = options.safety?.backup;
  if (option === undefined) return { wouldTake: false, reason: 'not taken: --no-backup', dir: null };
  const stop = stops.find((s) => s.phases.some((p) => p.action === 'run' && p.phase !== 'preflight'));
  if (stop === undefined) {
    return { wouldTake: false, reason: 'not taken: no command that can change the database would run', dir };
  }
  const release = catalog.releases.find((r) => r.id === stop.release) as Release;
  if (option.always === true) {
    return {
      wouldTake: true,
      reason: `--backup: before the first command of ${stop.release} after its preflight`,
      dir,
    };
  }
  const due = ledger !== null && (await isPreUpgradeBackupDue(ledger, options.mode, current, plan.from, release));
  return due
    ? { wouldTake: true, reason: `before the first command of ${stop.release} after its preflight`, dir }
    : {
        wouldTake: false,
        reason:
          options.mode === 'step' && current.release !== plan.from.release
            ? `not due: step mode past the plan's start (the backup of ${plan.from.release} is the way back)`
            : 'not due: the ledger records phases of this hop already (a resumed run keeps the earlier backup)',
        dir,
      };
}

function nothingToDo(
  options: DryRunOptions,
  ledgerSchema: string,
  current: ReleaseRef,
  plan: Pick<Plan, 'from' | 'to' | 'steps'>,
  lockHeldBy: string | null,
): DryRunReport {
  return {
    type: 'dry-run',
    mode: options.mode,
    database: options.target.display,
    ledgerSchema,
    current,
    plan: planSummary(options, plan),
    status: 'nothing-to-do',
    pending: [],
    resumesAt: null,
    resumed: false,
    backup: { wouldTake: false, reason: 'not taken: nothing to do', dir: null },
    lockHeldBy,
    stops: [],
    next: nextCommand('status'),
  };
}

function planSummary(options: DryRunOptions, plan: Pick<Plan, 'from' | 'to' | 'steps'>): DryRunReport['plan'] {
  return {
    file: options.planFile ?? null,
    from: plan.from,
    to: plan.to,
    steps: plan.steps.map((s) => s.release),
  };
}

function realCommand(options: DryRunOptions, plan: Plan): string {
  const verb = options.mode === 'step' ? 'step' : 'apply';
  return options.planFile !== undefined
    ? nextCommand(verb, '--plan', options.planFile)
    : nextCommand(verb, '--to', plan.to.release);
}
