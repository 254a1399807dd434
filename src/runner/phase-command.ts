import type { ExitCodeMap, Release } from '../catalog/release.js';
import {
  checkAppVersion,
  runSqlChecks,
  SqlCheckError,
  type SqlBudget,
  type SqlCheckResult,
} from '../checks/sql-checks.js';
import type { SqlProbe } from '../checks/sql-probe.js';
import type { PhaseExecutor, PhaseRunResult } from '../executors/phase-executor.js';
import { phaseEnvironment, type PhaseDatabase } from '../executors/phase-environment.js';
import { redact } from '../util/redact.js';
import type { PhaseRef, RunnerEventListener } from './events.js';
import { PhaseProgress } from './phase-progress.js';
import { runBatches } from './protocols/batches.js';
import { runExit0 } from './protocols/exit0.js';
import { runExitCodeMap } from './protocols/exit-code-map.js';
import { parseProgressLine, type ProgressReport } from './protocols/progress-line.js';
import type { Invocation, Invoke, ProtocolOutcome } from './protocols/protocol-outcome.js';
import { parseUpgradeCheckOutput, runUpgradeCheck } from './protocols/upgradecheck.js';
import { waitUntilZero, type GateOutcome } from './protocols/until-gate.js';
import type { StepPhase } from './step-phases.js';

const STDOUT_KEEP = 10_000;

/** What a data gate's progress line calls its count: the manifest says only "a count". */
export const GATE_MIGRATION = 'data.until';
export const GATE_UNIT = 'items';

/** What running one phase needs: the runner's per-step state, or baseline's verification. */
export interface PhaseRun {
  runId: string;
  release: Release;
  executor: PhaseExecutor;
  database: PhaseDatabase;
  env?: Readonly<Record<string, string>> | undefined;
  secrets: readonly string[];
  signal: AbortSignal;
  emit: RunnerEventListener;
  /** Where the manifest's SQL runs (checks, gates, appVersion); required when the phase has any. */
  sqlProbe?: SqlProbe | undefined;
}

/**
 * THE one way a phase runs (the runner's steps and `baseline`'s verification), within the
 * phase's time budget, recording nothing (that is the caller's):
 * - preflight/check: the `sql` checks in manifest order, then the command (not run when a SQL
 *   check is already red), then, in the check, the application's own version (`appVersion`);
 * - schema: the command by exit0 or its exit-code map;
 * - data: the batches command, then the `until` gate.
 */
export async function runPhaseCommand(run: PhaseRun, phase: StepPhase): Promise<ProtocolOutcome> {
  const started = performance.now();
  const timeoutMs = run.release.timeoutsMs[phase.phase];
  const budget: SqlBudget = { deadline: started + timeoutMs, signal: run.signal };
  const invoke = makeInvoke(run, phase, budget.deadline);
  let outcome: ProtocolOutcome;
  switch (phase.phase) {
    case 'schema':
      outcome = await runCommand(invoke, phase.run, phase.protocol, timeoutMs, 'schema');
      break;
    case 'preflight':
    case 'check':
      outcome = await runCheckPhase(run, phase, invoke, budget, timeoutMs);
      break;
    case 'data':
      outcome = await runDataPhase(run, phase, invoke, budget, timeoutMs);
      break;
  }
  // A phase made of SQL, or of SQL and a command, took the whole wall time, not the command's.
  return { ...outcome, durationMs: Math.max(outcome.durationMs, performance.now() - started) };
}

function runCommand(
  invoke: Invoke,
  command: readonly string[],
  protocol: 'exit0' | 'upgradecheck' | ExitCodeMap,
  timeoutMs: number,
  kind: 'check' | 'schema',
): Promise<ProtocolOutcome> {
  if (typeof protocol === 'object') return runExitCodeMap(invoke, command, protocol, timeoutMs, kind);
  return protocol === 'exit0' ? runExit0(invoke, command, timeoutMs) : runUpgradeCheck(invoke, command, timeoutMs);
}

type CheckPhase = Extract<StepPhase, { phase: 'preflight' | 'check' }>;
type DataPhase = Extract<StepPhase, { phase: 'data' }>;

async function runCheckPhase(
  run: PhaseRun,
  phase: CheckPhase,
  invoke: Invoke,
  budget: SqlBudget,
  timeoutMs: number,
): Promise<ProtocolOutcome> {
  const { release } = run;
  let outcome = sqlOutcome([]);
  try {
    if (phase.sql.length > 0) {
      const sql = await runSqlChecks(probeFor(run, phase.phase, 'sql checks'), phase.sql, budget);
      if (sql.interrupted) return { ...sqlOutcome(sql.results), status: 'interrupted', message: INTERRUPTED };
      outcome = sqlOutcome(sql.results);
      // Red already: the command would only add cost (and a check process is the costly part).
      if (outcome.status === 'red') return outcome;
    }
    if (phase.run !== undefined) {
      if (run.signal.aborted) return { ...outcome, status: 'interrupted', message: INTERRUPTED };
      outcome = combine(outcome, await runCommand(invoke, phase.run, phase.protocol, timeoutMs, 'check'));
      if (outcome.status !== 'succeeded') return outcome;
    }
    if (phase.phase === 'check' && release.appVersion !== undefined) {
      if (run.signal.aborted) return { ...outcome, status: 'interrupted', message: INTERRUPTED };
      const probe = probeFor(run, phase.phase, 'appVersion');
      outcome = combine(outcome, sqlOutcome([await checkAppVersion(probe, release.appVersion, release.id, budget)]));
    }
    return outcome;
  } catch (error) {
    if (!(error instanceof SqlCheckError)) throw error;
    // The query gave no verdict (an error, a timeout, a write refused by READ ONLY): the phase
    // failed, which is not a red light.
    const subject = error.check === 'appVersion' ? 'appVersion.sql' : `sql check "${error.check}"`;
    return {
      ...outcome,
      status: 'failed',
      subject,
      message: `gave no verdict: ${error.timedOut ? `timed out (statement_timeout, the phase's timeout): ${error.message}` : error.message}`,
      outputTail: [...outcome.outputTail, `${subject}: ${error.message}`],
    };
  }
}

async function runDataPhase(
  run: PhaseRun,
  phase: DataPhase,
  invoke: Invoke,
  budget: SqlBudget,
  timeoutMs: number,
): Promise<ProtocolOutcome> {
  let batches: ProtocolOutcome | null = null;
  if (phase.run !== undefined) {
    batches = await runBatches(invoke, { ...phase, run: phase.run }, timeoutMs);
    if (batches.status !== 'succeeded' || phase.until === undefined) return batches;
  }
  if (phase.until === undefined) {
    throw new Error(`release ${run.release.id}: the data phase has neither a command nor data.until`);
  }
  const probe = probeFor(run, 'data', 'data.until');
  const ref: PhaseRef = { release: run.release.id, phase: 'data', name: phase.name };
  const progress = new PhaseProgress(performance.now());
  const gate = await waitUntilZero(probe, phase.until, {
    ...budget,
    stallAfter: phase.stallAfter,
    onCount: (count, first) => {
      // A gate after a command that did the work reads 0 at once: nothing to show, and its
      // progress line would rename the command's unit in the phase's closing line.
      if (first === 0 && batches !== null) return;
      const report: ProgressReport = {
        migration: GATE_MIGRATION,
        done: first - count,
        remaining: count,
        unit: GATE_UNIT,
      };
      run.emit({ type: 'progress', ...ref, ...progress.report(report, performance.now()) });
    },
  });
  return gateOutcome(gate, batches);
}

function gateOutcome(gate: GateOutcome, batches: ProtocolOutcome | null): ProtocolOutcome {
  const line = `data.until: ${gate.remaining ?? 'unknown'} remaining after ${gate.polls} poll(s)`;
  return {
    status: gate.status,
    exitCode: batches?.exitCode ?? null,
    invocations: batches?.invocations ?? 0,
    rowsMigrated: batches?.rowsMigrated ?? null,
    checks: [],
    warning: false,
    message: gate.message,
    outputTail: [...(batches?.outputTail ?? []), line],
    durationMs: (batches?.durationMs ?? 0) + gate.durationMs,
    polls: gate.polls,
    ...(gate.status === 'succeeded' ? {} : { subject: 'data.until' }),
  };
}

const INTERRUPTED = 'interrupted (SIGINT/SIGTERM) between the phase’s SQL and its command';

/** SQL-only results as a protocol outcome: red when a failure check returned rows. */
function sqlOutcome(results: readonly SqlCheckResult[]): ProtocolOutcome {
  const failures = results.filter((r) => r.result === 2);
  const warnings = results.filter((r) => r.result === 1);
  const list = (rs: readonly SqlCheckResult[]) =>
    rs.map((r) => (r.details === null ? r.check : `${r.check}: ${r.details}`)).join('; ');
  return {
    status: failures.length > 0 ? 'red' : 'succeeded',
    exitCode: null,
    invocations: 0,
    rowsMigrated: null,
    checks: results,
    warning: failures.length === 0 && warnings.length > 0,
    message:
      failures.length > 0 ? `failure: ${list(failures)}` : warnings.length > 0 ? `warning: ${list(warnings)}` : null,
    outputTail: [],
    durationMs: 0,
  };
}

/** What ran first, then what ran next: every check shown, the later verdict deciding. */
function combine(first: ProtocolOutcome, next: ProtocolOutcome): ProtocolOutcome {
  const messages = [first.message, next.message].filter((m): m is string => m !== null);
  return {
    ...next,
    exitCode: next.exitCode ?? first.exitCode,
    invocations: first.invocations + next.invocations,
    checks: [...first.checks, ...next.checks],
    warning: next.status === 'succeeded' && (first.warning || next.warning),
    message: next.status === 'succeeded' ? (messages.length > 0 ? messages.join('; ') : null) : next.message,
    outputTail: next.outputTail.length > 0 ? next.outputTail : first.outputTail,
    durationMs: first.durationMs + next.durationMs,
  };
}

/** A release whose manifest has SQL cannot run without a probe: a caller forgot to pass one. */
function probeFor(run: PhaseRun, phase: string, what: string): SqlProbe {
  if (run.sqlProbe !== undefined) return run.sqlProbe;
  throw new Error(
    `release ${run.release.id}, phase ${phase} has ${what} but the runner was given no SqlProbe (a caller of runPhaseCommand/runPlan must pass sqlProbe)`,
  );
}

/**
 * One invocation of the phase command through the executor: environment (the release's, the
 * command's own, the caller's, the URL), what is left of the phase's time budget (shared by every
 * batch of a data phase and by the phase's SQL), redacted output lines as events, and progress
 * lines added up per migration and for the phase (done, remaining, rate and ETA).
 */
function makeInvoke(options: PhaseRun, phase: StepPhase, deadline: number): Invoke {
  const { emit, release } = options;
  const ref: PhaseRef = { release: release.id, phase: phase.phase, name: phase.name };
  const phaseProgress = new PhaseProgress(performance.now());
  const env = phaseEnvironment(release, options.database, options.env, phase.env);
  return async (command) => {
    const stdout: string[] = [];
    const progress = new Map<string, ProgressReport>();
    phaseProgress.nextInvocation();
    const budget = Math.max(1, Math.round(deadline - performance.now()));
    const result: PhaseRunResult = await options.executor.run(command, {
      runId: options.runId,
      release,
      phase: phase.phase,
      env,
      timeoutMs: budget,
      signal: options.signal,
      onLine: (raw, stream) => {
        const line = redact(raw, options.secrets);
        const report = stream === 'stdout' ? parseProgressLine(line) : null;
        if (report !== null) {
          progress.set(report.migration, report);
          emit({ type: 'progress', ...ref, ...phaseProgress.report(report, performance.now()) });
          return;
        }
        if (stream === 'stdout' && stdout.length < STDOUT_KEEP) stdout.push(line);
        // A check's stdout is its JSON report, shown per check instead; held back until it is
        // known whether it parsed.
        if (stream === 'stdout' && phase.protocol === 'upgradecheck') return;
        emit({ type: 'phase-output', ...ref, line, stream });
      },
    });
    if (phase.protocol === 'upgradecheck' && parseUpgradeCheckOutput(stdout).length === 0) {
      for (const line of stdout) emit({ type: 'phase-output', ...ref, line, stream: 'stdout' });
    }
    const invocation: Invocation = {
      ...result,
      outputTail: result.outputTail.map((l) => redact(l, options.secrets)),
      stdout,
      progress,
    };
    return invocation;
  };
}
