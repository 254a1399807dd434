import type { PhaseRunResult } from '../../executors/phase-executor.js';
import type { ProgressReport } from './progress-line.js';

/** One check of oslo.upgradecheck's JSON: 0 success, 1 warning, 2 failure. */
export interface CheckResult {
  check: string;
  result: number;
  details: string | null;
}

/** One run of a phase command as the protocols see it: the executor's result plus what it said. */
export interface Invocation extends PhaseRunResult {
  /** Every stdout line (redacted), for protocols that parse output (upgradecheck JSON). */
  stdout: readonly string[];
  /** The last progress report per migration printed during this invocation. */
  progress: ReadonlyMap<string, ProgressReport>;
}

/** Runs the phase's command once, with whatever time is left in the phase's budget. */
export type Invoke = (command: readonly string[]) => Promise<Invocation>;

/**
 * What a protocol concluded about a phase. `red` is a check that ran and said no (exit 3 of
 * leapfrog); `failed` is a command that failed, timed out or stalled (exit 1).
 */
export interface ProtocolOutcome {
  status: 'succeeded' | 'failed' | 'red' | 'interrupted';
  exitCode: number | null;
  invocations: number;
  rowsMigrated: number | null;
  checks: readonly CheckResult[];
  /** An upgradecheck warning (exit 1): the step proceeds, and the warning is reported. */
  warning: boolean;
  /** Why it did not succeed, for people. */
  message: string | null;
  outputTail: readonly string[];
  durationMs: number;
  /**
   * What gave the verdict when it was not the phase's command: `sql check "…"`, `appVersion.sql`,
   * `data.until`. Error messages name it instead of the command.
   */
  subject?: string;
  /** How many times a data gate (`data.until`) read its count. */
  polls?: number;
}

/** The outcome of a single invocation that was killed or timed out, shared by every protocol. */
export function killedOutcome(run: Invocation, invocations: number, timeoutMs: number): ProtocolOutcome | null {
  if (run.aborted) {
    return base(run, invocations, 'interrupted', 'interrupted (SIGINT/SIGTERM): the command was stopped');
  }
  if (run.timedOut) {
    return base(
      run,
      invocations,
      'failed',
      `timed out after ${Math.round(timeoutMs / 1000)}s (the manifest's timeouts) and was killed`,
    );
  }
  return null;
}

export function base(
  run: Invocation,
  invocations: number,
  status: ProtocolOutcome['status'],
  message: string | null,
): ProtocolOutcome {
  return {
    status,
    exitCode: run.exitCode,
    invocations,
    rowsMigrated: null,
    checks: [],
    warning: false,
    message,
    outputTail: run.outputTail,
    durationMs: run.durationMs,
  };
}
