import { hostname } from 'node:os';
import type { Catalog, Release } from '../catalog/release.js';
import { CheckRedError, InterruptedError, LeapfrogError, PhaseFailedError, StalePlanError } from '../errors/index.js';
import type { PhaseExecutor } from '../executors/phase-executor.js';
import type { PhaseDatabase } from '../executors/phase-environment.js';
import type { SqlProbe } from '../checks/sql-probe.js';
import type { FinishedPhase, Ledger, PhaseKey, PhaseResultRecord, RunMode } from '../ledger/ledger.js';
import { LockLostError } from '../ledger/lock-lost-error.js';
import { notBaselinedError } from '../ledger/read-baseline.js';
import { redact } from '../util/redact.js';
import { nextCommand } from '../util/next-command.js';
import { logger } from '../util/logger.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import type { PhaseRef, RunnerEventListener } from './events.js';
import { pendingSteps, type PendingStep } from './pending-steps.js';
import { runPhaseCommand, type PhaseRun } from './phase-command.js';
import type { ProtocolOutcome } from './protocols/protocol-outcome.js';
import type { PhaseResult, RunResult, StepResult } from './run-result.js';
import { stepPhases, type StepPhase } from './step-phases.js';

// runPhaseCommand moved to phase-command.ts (SQL checks, gates, exit-code maps); baseline and
// other callers keep importing it from here.
export { runPhaseCommand, type PhaseRun } from './phase-command.js';

const log = logger('runner');

/** What the pre-upgrade backup learns when the runner asks for it. */
export interface BackupMoment {
  runId: string;
  /** Where the database is before this run changes anything. */
  current: ReleaseRef;
  /** The step about to run its first command that can change the database. */
  release: Release;
  /** The run's event listener, for the backup's own events (backup-started/progress/finished/failed). */
  emit: RunnerEventListener;
}

/**
 * The pre-upgrade backup as the runner sees it: an object the caller (src/upgrade) hands over.
 * The runner decides WHEN (once, after a green preflight, right before the first command that
 * can change the database); the backup decides whether it is due and takes it.
 */
export interface PreUpgradeBackup {
  takeIfDue(moment: BackupMoment): Promise<void>;
}

export interface RunPlanOptions {
  plan: Plan;
  /** "sha256:…" of the plan (plan-file's planDigestOf), recorded with the run and each phase. */
  planDigest: string;
  catalog: Catalog;
  ledger: Ledger;
  executor: PhaseExecutor;
  mode: RunMode;
  /** The database phase commands work on, and the flag's name for its URL (phaseEnvironment). */
  database: PhaseDatabase;
  /** Anything else every command needs, beyond each manifest's own env. */
  env?: Readonly<Record<string, string>>;
  /** Strings that must never appear in events, ledger rows or errors. */
  secrets: readonly string[];
  signal: AbortSignal;
  onEvent?: RunnerEventListener;
  /**
   * Taken once, after the preflight and right before the first command this run executes that
   * can change the database (schema, data or check): a refusing preflight costs no backup.
   */
  backup?: PreUpgradeBackup;
  /**
   * Where the ledger says the database is, when the caller already read it under the lock
   * (src/upgrade reads it once into its context); read here otherwise.
   */
  current?: ReleaseRef;
  /**
   * After a red check behind schema changes, the sentence that names the way back (the
   * pre-upgrade backup and its restore command), added to the hint. The runner knows no backups:
   * src/upgrade gives it the ledger's. Absent, the hint says only how to re-run.
   */
  wayBack?: (from: ReleaseRef) => Promise<string>;
  /** The command to re-run, for hints, e.g. "leapfrog apply --plan plans/a-to-b.json". */
  rerunCommand?: string;
  /**
   * Where the manifest's SQL runs (sql checks, data.until gates, appVersion), read-only on the
   * run's own ledger session (src/checks). Required by any release that has SQL.
   */
  sqlProbe?: SqlProbe;
}

const TAIL_IN_MESSAGE = 8;

/**
 * Walks a plan from where the ledger says the database is: per step preflight, schema, data,
 * check; every phase result recorded before the next begins; the current release advances only
 * with a green check, in the same transaction. In `step` mode it runs exactly the next pending
 * step. Never prints.
 *
 * Throws only before a run is recorded (not baselined, a stale plan, a database past the plan's
 * path): nothing happened yet. From the moment the run row exists it always RETURNS its result;
 * a run that stopped carries its typed `error`, set after the ledger recorded what happened.
 */
export async function runPlan(options: RunPlanOptions): Promise<RunResult> {
  const { plan, ledger, mode } = options;
  const started = performance.now();
  const emit: RunnerEventListener = options.onEvent ?? (() => undefined);
  const rerun = options.rerunCommand ?? nextCommand('status');

  const currentRef = options.current ?? (await ledger.currentRelease());
  if (currentRef === null) throw notBaselinedError(ledger.schema, plan.from.release);
  const pending = pendingSteps(plan, currentRef);
  const selected = mode === 'step' ? pending.slice(0, 1) : pending;
  const releases = selected.map((p) => releaseOf(options.catalog, p));

  const skippedSteps = plan.steps
    .slice(0, plan.steps.length - pending.length)
    .map((s) => stepOutcome(s, 'skipped', []));
  if (selected.length === 0) {
    const result: RunResult = {
      runId: null,
      mode,
      status: 'nothing-to-do',
      from: plan.from,
      to: plan.to,
      finalRelease: currentRef,
      steps: skippedSteps,
      durationMs: performance.now() - started,
    };
    emit({ type: 'run-finished', result });
    return result;
  }

  const run = await ledger.startRun({
    planDigest: options.planDigest,
    from: plan.from,
    to: plan.to,
    mode,
    host: hostname(),
    pid: process.pid,
  });
  emit({
    type: 'run-started',
    runId: run.id,
    mode,
    from: plan.from,
    to: plan.to,
    steps: plan.steps.map((s) => s.release),
    pending: selected.map((p) => p.step.release),
  });

  const steps: StepResult[] = [...skippedSteps];
  let finalRelease = currentRef;
  let firstCommandDone = false;
  // A lost ledger lock stops the phase command exactly as a signal does (the executor kills it).
  const lockLost = ledger.lockLost;
  const signal = lockLost === undefined ? options.signal : AbortSignal.any([options.signal, lockLost]);
  const context: StepContext = {
    options: { ...options, signal },
    runId: run.id,
    emit,
    rerun,
    backupPending: () => !firstCommandDone && options.backup !== undefined,
    beforeFirstCommand: async (release) => {
      if (firstCommandDone) return;
      firstCommandDone = true;
      await options.backup?.takeIfDue({
        runId: run.id,
        current: { release: currentRef.release, version: currentRef.version },
        release,
        emit,
      });
    },
  };
  let failure: LeapfrogError | null = null;
  try {
    await options.executor.prepare(releases, run.id);
    for (const [i, pendingStep] of selected.entries()) {
      const release = releases[i] as Release;
      const outcome = await runStep(context, pendingStep, release);
      steps.push(outcome.step);
      if (outcome.error !== null) {
        failure = outcome.error;
        break;
      }
      finalRelease = { release: release.id, version: release.version };
    }
  } catch (error) {
    // The ledger, the executor's prepare or the hook failed outside any phase: still close the run.
    failure = error instanceof LeapfrogError ? error : unexpected(error, options.secrets, rerun);
    // Whatever failed after the lock went (a write refused by the fence, a dropped connection),
    // the cause to report is the lost lock.
    if (lockLost?.aborted === true) failure = lockLostFailure(lockLost, rerun);
  }
  if (failure !== null) {
    const status = failure instanceof InterruptedError ? 'interrupted' : 'failed';
    for (const p of pending.slice(steps.length - skippedSteps.length)) steps.push(stepOutcome(p.step, 'not-run', []));
    const result: RunResult = {
      runId: run.id,
      mode,
      status,
      from: plan.from,
      to: plan.to,
      finalRelease,
      steps,
      durationMs: performance.now() - started,
      error: failure,
    };
    // Refused by the fence when the lock was lost: the run row stays `running` until the next
    // run that takes the lock closes it as interrupted. The run's own error is the one that
    // matters; a ledger that is also gone must not hide it.
    await ledger
      .finishRun(run.id, status)
      .catch((error: unknown) => log.suppressed('recording the run as ' + status, error));
    emit({ type: 'run-finished', result });
    return result;
  }
  for (const p of pending.slice(selected.length)) steps.push(stepOutcome(p.step, 'not-run', []));
  await ledger.finishRun(run.id, 'succeeded');
  const result: RunResult = {
    runId: run.id,
    mode,
    status: 'succeeded',
    from: plan.from,
    to: plan.to,
    finalRelease,
    steps,
    durationMs: performance.now() - started,
  };
  emit({ type: 'run-finished', result });
  return result;
}

interface StepContext {
  options: RunPlanOptions;
  runId: string;
  emit: RunnerEventListener;
  rerun: string;
  /** Whether `beforeFirstCommand` may still take a backup (which can take long). */
  backupPending: () => boolean;
  beforeFirstCommand: (release: Release) => Promise<void>;
}

function releaseOf(catalog: Catalog, pending: PendingStep): Release {
  const release = catalog.releases.find((r) => r.id === pending.step.release);
  if (release === undefined) {
    throw new StalePlanError(`stale plan: step ${pending.step.release} is no longer in the catalog ${catalog.dir}`, {
      hint: `make a new plan with \`${nextCommand('plan')}\`, or restore the release folder the plan was made with`,
    });
  }
  return release;
}

interface StepOutcome {
  step: StepResult;
  /** Set when the step stopped: the typed error the run's result carries once the run is closed. */
  error: LeapfrogError | null;
}

async function runStep(context: StepContext, pending: PendingStep, release: Release): Promise<StepOutcome> {
  const { options, emit } = context;
  const started = performance.now();
  const phases = stepPhases(release);
  const ref: ReleaseRef = { release: release.id, version: release.version };
  emit({
    type: 'step-started',
    release: release.id,
    version: release.version,
    index: pending.index,
    phases: phases.map((p) => ({ release: release.id, phase: p.phase, name: p.name })),
  });
  const results: PhaseResult[] = [];
  let advanced = false;
  // What an earlier run of this hop recorded, read once: under the lock only this run writes it.
  const recorded = new Map(
    (await options.ledger.hopPhases({ fromRelease: pending.from.release, release: release.id })).map((r) => [
      `${r.phase}\0${r.name}`,
      r,
    ]),
  );
  // A succeeded phase that does not move the release is recorded with the next phase's start, in
  // one statement: one round trip between two phases instead of two. Only sync work separates
  // them, except for the backup, before which it is recorded on its own. Killing leapfrog in that
  // moment loses that record, and the phase runs again on resume, as the protocols make safe.
  let unrecorded: FinishedPhase | undefined;
  const takeUnrecorded = () => {
    const finished = unrecorded;
    unrecorded = undefined;
    return finished;
  };
  const recordUnrecorded = async () => {
    const finished = takeUnrecorded();
    if (finished !== undefined) await options.ledger.finishPhase(finished.key, finished.result);
  };
  for (const [i, phase] of phases.entries()) {
    const key: PhaseKey = {
      fromRelease: pending.from.release,
      release: release.id,
      phase: phase.phase,
      name: phase.name,
    };
    const phaseRef: PhaseRef = { release: release.id, phase: phase.phase, name: phase.name };
    const previous = recorded.get(`${phase.phase}\0${phase.name}`);
    if (previous?.status === 'succeeded') {
      results.push(phaseOutcome(phaseRef, 'skipped'));
      emit({
        type: 'phase-finished',
        ...phaseRef,
        status: 'skipped',
        exitCode: previous.exitCode,
        durationMs: 0,
        rowsMigrated: null,
        message: null,
      });
      continue;
    }
    throwIfLockLost(context);
    if (options.signal.aborted) {
      await recordUnrecorded();
      return interrupted(context, release, phaseRef, results, phases.slice(i), started);
    }
    // The preflight only reads: it runs before the hook (the backup), so a red one costs no dump.
    if (phase.phase !== 'preflight') {
      if (context.backupPending()) await recordUnrecorded();
      await context.beforeFirstCommand(release);
    }
    await options.ledger.startPhase(key, context.runId, options.planDigest, takeUnrecorded());
    emit({ type: 'phase-started', ...phaseRef, attempt: (previous?.attempts ?? 0) + 1 });

    let outcome: ProtocolOutcome;
    let runError: Error | null = null;
    try {
      outcome = await runPhaseCommand(phaseRunOf(context, release), phase);
    } catch (error) {
      // The executor could not run the command at all (missing binary, image, engine).
      runError = error instanceof Error ? error : new Error(String(error));
      const message = redact(error instanceof Error ? error.message : String(error), options.secrets);
      outcome = {
        status: 'failed',
        exitCode: null,
        invocations: 0,
        rowsMigrated: null,
        checks: [],
        warning: false,
        message,
        outputTail: [message],
        durationMs: 0,
      };
    }
    // Nothing is recorded after the lock is lost: not even that the phase was stopped.
    throwIfLockLost(context);
    const isLast = i === phases.length - 1;
    const ok = outcome.status === 'succeeded';
    const record: PhaseResultRecord = {
      status: ok ? 'succeeded' : outcome.status === 'interrupted' ? 'interrupted' : 'failed',
      exitCode: outcome.exitCode,
      outputTail: outcome.outputTail.map((l) => redact(l, options.secrets)),
      durationMs: outcome.durationMs,
      rowsMigrated: outcome.rowsMigrated,
      details: detailsOf(outcome),
    };
    if (ok && !isLast) unrecorded = { key, result: record };
    else await options.ledger.finishPhase(key, record, ok && isLast ? ref : undefined);
    if (ok && isLast) advanced = true;
    const result: PhaseResult = {
      ...phaseRef,
      status: ok ? 'succeeded' : outcome.status === 'interrupted' ? 'interrupted' : 'failed',
      exitCode: outcome.exitCode,
      durationMs: outcome.durationMs,
      invocations: outcome.invocations,
      rowsMigrated: outcome.rowsMigrated,
      checks: outcome.checks,
      message: outcome.message,
    };
    results.push(result);
    for (const check of outcome.checks) emit({ type: 'check-result', ...phaseRef, ...check });
    emit({
      type: 'phase-finished',
      ...phaseRef,
      status: result.status,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      rowsMigrated: result.rowsMigrated,
      message: result.message,
    });
    if (ok) continue;

    const remaining = phases
      .slice(i + 1)
      .map((p) => phaseOutcome({ release: release.id, phase: p.phase, name: p.name }, 'not-run'));
    const stepStatus = outcome.status === 'interrupted' ? 'interrupted' : 'failed';
    const step: StepResult = {
      ...ref,
      status: stepStatus,
      durationMs: performance.now() - started,
      phases: [...results, ...remaining],
    };
    emit({ type: 'step-finished', result: step });
    if (runError !== null && !(runError instanceof LeapfrogError)) throw runError;
    // A red check behind commands that changed the database: name the backup as the way back.
    const changed = phase.phase === 'check' && phases.slice(0, i).some((p) => p.phase !== 'preflight');
    const wayBack =
      outcome.status === 'red' && changed && options.wayBack !== undefined
        ? await options.wayBack(pending.from)
        : undefined;
    return {
      step,
      error: runError instanceof LeapfrogError ? runError : phaseError(context, release, phase, outcome, wayBack),
    };
  }
  // The last phases were recorded as succeeded by an earlier run: this run's last result is still to write.
  await recordUnrecorded();
  // A step whose phases were all recorded by an earlier run (or that has none) still moves the
  // release: its last phase's record was written, so advancing is what that run would have done.
  if (!advanced) await options.ledger.setCurrentRelease(ref);
  const step: StepResult = { ...ref, status: 'succeeded', durationMs: performance.now() - started, phases: results };
  emit({ type: 'step-finished', result: step });
  return { step, error: null };
}

function phaseRunOf(context: StepContext, release: Release): PhaseRun {
  const { options } = context;
  return {
    runId: context.runId,
    release,
    executor: options.executor,
    database: options.database,
    env: options.env,
    secrets: options.secrets,
    signal: options.signal,
    emit: context.emit,
    sqlProbe: options.sqlProbe,
  };
}

function throwIfLockLost(context: StepContext): void {
  const lost = context.options.ledger.lockLost;
  if (lost?.aborted === true) throw lockLostFailure(lost, context.rerun);
}

/** The lock's own error (it names the target and the cause), with the command that resumes. */
function lockLostFailure(lost: AbortSignal, rerun: string): LeapfrogError {
  const reason: unknown = lost.reason;
  const message = reason instanceof Error ? reason.message : `lost the ledger lock: ${String(reason)}`;
  const details = reason instanceof LeapfrogError ? reason.details : {};
  return new LockLostError(message, {
    hint: `check that the database is reachable and that no other run is going (\`${nextCommand('status')}\`), then re-run \`${rerun}\`: it resumes at the first phase not recorded as succeeded`,
    details: { ...details },
    cause: reason,
  });
}

function detailsOf(outcome: ProtocolOutcome): Record<string, unknown> | null {
  const details: Record<string, unknown> = {};
  if (outcome.checks.length > 0) details['checks'] = outcome.checks;
  if (outcome.warning) details['warning'] = true;
  if (outcome.invocations > 1) details['invocations'] = outcome.invocations;
  if (outcome.polls !== undefined) details['polls'] = outcome.polls;
  if (outcome.message !== null) details['message'] = outcome.message;
  return Object.keys(details).length === 0 ? null : details;
}

function phaseError(
  context: StepContext,
  release: Release,
  phase: StepPhase,
  outcome: ProtocolOutcome,
  wayBack?: string,
): LeapfrogError {
  const where = `release ${release.id}, phase ${phase.phase}${phase.phase === 'schema' ? ` (${phase.name})` : ''}`;
  // The manifest's SQL (a check, appVersion, the gate) or the command: whichever said no.
  const subject = outcome.subject ?? (phase.run === undefined ? 'the phase' : `\`${phase.run.join(' ')}\``);
  const tail = outcome.outputTail
    .slice(-TAIL_IN_MESSAGE)
    .map((l) => `    | ${l}`)
    .join('\n');
  const checks = outcome.checks
    .map(
      (c) =>
        `    ${['ok', 'warning', 'FAILURE'][c.result] ?? `result ${c.result}`}: ${c.check}${c.details ? ` — ${c.details}` : ''}`,
    )
    .join('\n');
  const details = {
    release: release.id,
    phase: phase.phase,
    name: phase.name,
    exitCode: outcome.exitCode,
    outputTail: outcome.outputTail,
    checks: outcome.checks,
  };
  if (outcome.status === 'interrupted') {
    return new InterruptedError(
      `interrupted during ${where}: the command was stopped and the phase recorded as interrupted`,
      {
        hint: `re-run \`${context.rerun}\` to resume at this phase`,
        details,
      },
    );
  }
  if (outcome.status === 'red') {
    return new CheckRedError(
      `green-light check is red for ${where}: ${outcome.message ?? ''}; release ${release.id} was not recorded as reached${checks ? `\n${checks}` : ''}${tail && !checks ? `\n${tail}` : ''}`,
      {
        hint: `fix what the check reports, then re-run \`${context.rerun}\` (it resumes at this phase)${wayBack === undefined ? '' : `; ${wayBack}`}`,
        details: wayBack === undefined ? details : { ...details, wayBack },
      },
    );
  }
  return new PhaseFailedError(`${where} failed: ${subject} ${outcome.message ?? 'failed'}${tail ? `\n${tail}` : ''}`, {
    hint: `fix the cause, then re-run \`${context.rerun}\`: it resumes at this phase (\`${nextCommand('status')}\` shows the output tail)`,
    details,
  });
}

function interrupted(
  context: StepContext,
  release: Release,
  ref: PhaseRef,
  results: PhaseResult[],
  rest: readonly StepPhase[],
  started: number,
): StepOutcome {
  const step: StepResult = {
    release: release.id,
    version: release.version,
    status: 'interrupted',
    durationMs: performance.now() - started,
    phases: [
      ...results,
      ...rest.map((p) => phaseOutcome({ release: release.id, phase: p.phase, name: p.name }, 'not-run')),
    ],
  };
  context.emit({ type: 'step-finished', result: step });
  const error = new InterruptedError(`interrupted before release ${release.id}, phase ${ref.phase} started`, {
    hint: `re-run \`${context.rerun}\` to resume at this phase`,
  });
  return { step, error };
}

function phaseOutcome(ref: PhaseRef, status: PhaseResult['status']): PhaseResult {
  return {
    ...ref,
    status,
    exitCode: null,
    durationMs: 0,
    invocations: 0,
    rowsMigrated: null,
    checks: [],
    message: null,
  };
}

function stepOutcome(
  step: { release: string; version: string },
  status: StepResult['status'],
  phases: PhaseResult[],
): StepResult {
  return { release: step.release, version: step.version, status, durationMs: 0, phases };
}

/**
 * A failure that is not leapfrog's own (the database connection dropped while recording, say):
 * typed, redacted, and with the way out, because the ledger still says where to resume.
 */
function unexpected(error: unknown, secrets: readonly string[], rerun: string): PhaseFailedError {
  const message = redact(error instanceof Error ? error.message : String(error), secrets);
  return new PhaseFailedError(`the run stopped outside a phase command: ${message}`, {
    hint: `check that the database is reachable, then re-run \`${rerun}\`: it resumes at the first phase not recorded as succeeded`,
    cause: error,
  });
}
