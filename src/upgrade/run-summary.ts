import type { RunMode } from '../ledger/ledger.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import type { CheckResult } from '../runner/protocols/protocol-outcome.js';
import type { RunResult } from '../runner/run-result.js';

export interface PhaseSummary {
  release: string;
  phase: string;
  name: string;
  status: string;
  durationMs: number;
  rowsMigrated: number | null;
  checks: readonly CheckResult[];
}

/** What `step`/`apply` report at the end, and what `demo` prints its summary from. */
export interface RunSummary {
  type: 'summary';
  status: RunResult['status'];
  runId: string | null;
  mode: RunMode;
  planDigest: string;
  from: ReleaseRef;
  to: ReleaseRef;
  /** The releases of the plan, in order. */
  path: readonly string[];
  finalRelease: ReleaseRef;
  durationMs: number;
  rowsMigrated: number;
  phases: readonly PhaseSummary[];
  /** The next command for the operator, or null when the target is reached. */
  next: string | null;
  /** The runner's result; `result.error` is set when the run stopped (the CLI's exit code). */
  result: RunResult;
}

export function nothingToDo(mode: RunMode, at: ReleaseRef): RunSummary {
  const result: RunResult = {
    runId: null,
    mode,
    status: 'nothing-to-do',
    from: at,
    to: at,
    finalRelease: at,
    steps: [],
    durationMs: 0,
  };
  return {
    type: 'summary',
    status: 'nothing-to-do',
    runId: null,
    mode,
    planDigest: '',
    from: at,
    to: at,
    path: [],
    finalRelease: at,
    durationMs: 0,
    rowsMigrated: 0,
    phases: [],
    next: null,
    result,
  };
}

export function summaryOf(result: RunResult, planDigest: string, plan: Plan, rerun: string): RunSummary {
  const phases: PhaseSummary[] = result.steps.flatMap((s) =>
    s.phases.map((p) => ({
      release: p.release,
      phase: p.phase,
      name: p.name,
      status: p.status,
      durationMs: p.durationMs,
      rowsMigrated: p.rowsMigrated,
      checks: p.checks,
    })),
  );
  const reached = result.finalRelease.release === plan.to.release;
  return {
    type: 'summary',
    status: result.status,
    runId: result.runId,
    mode: result.mode,
    planDigest,
    from: result.from,
    to: result.to,
    path: plan.steps.map((s) => s.release),
    finalRelease: result.finalRelease,
    durationMs: result.durationMs,
    rowsMigrated: phases.reduce((a, p) => a + (p.rowsMigrated ?? 0), 0),
    phases,
    next: reached ? null : rerun,
    result,
  };
}
