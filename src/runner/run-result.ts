import type { PhaseName } from '../catalog/release.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { LeapfrogError } from '../errors/index.js';
import type { CheckResult } from './protocols/protocol-outcome.js';

/**
 * skipped: recorded as succeeded by an earlier run; not-run: after a failure, or beyond the
 * one step `leapfrog step` runs.
 */
export type PhaseOutcomeStatus = 'succeeded' | 'failed' | 'interrupted' | 'skipped' | 'not-run';
export type StepStatus = 'succeeded' | 'failed' | 'interrupted' | 'skipped' | 'not-run';

export interface PhaseResult {
  release: string;
  phase: PhaseName;
  name: string;
  status: PhaseOutcomeStatus;
  exitCode: number | null;
  durationMs: number;
  /** How many times the command ran in this run (data batches count each). */
  invocations: number;
  rowsMigrated: number | null;
  checks: readonly CheckResult[];
  /** Why it failed, for people. */
  message: string | null;
}

export interface StepResult {
  release: string;
  version: string;
  status: StepStatus;
  durationMs: number;
  phases: readonly PhaseResult[];
}

export interface RunResult {
  runId: string | null;
  mode: 'step' | 'apply';
  status: 'succeeded' | 'failed' | 'interrupted' | 'nothing-to-do';
  from: ReleaseRef;
  to: ReleaseRef;
  /** Where the database is after the run, per the ledger. */
  finalRelease: ReleaseRef;
  steps: readonly StepResult[];
  durationMs: number;
  /**
   * Why the run stopped, when it did not succeed: typed (its exit code, message and `next:` hint),
   * set only after the ledger recorded what happened. The CLI maps it to the exit code.
   */
  error?: LeapfrogError;
}
