import type { PhaseName } from '../catalog/release.js';
import type { OutputStream } from '../executors/phase-executor.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { ProgressSnapshot } from './phase-progress.js';
import type { PhaseOutcomeStatus, RunResult, StepResult } from './run-result.js';

/** Which phase of which step an event is about. */
export interface PhaseRef {
  release: string;
  phase: PhaseName;
  /** The schema command's name, or the phase name. */
  name: string;
}

/**
 * Everything the runner tells the outside world. The UI renders these (listr2, plain lines or
 * JSON lines); the runner itself never prints. Output lines are already redacted.
 */
export type RunnerEvent =
  | {
      type: 'run-started';
      runId: string;
      mode: 'step' | 'apply';
      from: ReleaseRef;
      to: ReleaseRef;
      steps: readonly string[];
      pending: readonly string[];
    }
  | { type: 'step-started'; release: string; version: string; index: number; phases: readonly PhaseRef[] }
  | ({ type: 'phase-started'; attempt: number } & PhaseRef)
  | ({ type: 'phase-output'; line: string; stream: OutputStream } & PhaseRef)
  // Per migration and for the phase (src/runner/phase-progress.ts); `done`, `remaining` and
  // `rowsPerSecond` keep their old names and are the phase's, in `phaseUnit`.
  | ({ type: 'progress' } & ProgressSnapshot & PhaseRef)
  | ({ type: 'check-result'; check: string; result: number; details: string | null } & PhaseRef)
  | ({
      type: 'phase-finished';
      status: PhaseOutcomeStatus;
      exitCode: number | null;
      durationMs: number;
      rowsMigrated: number | null;
      message: string | null;
    } & PhaseRef)
  | { type: 'step-finished'; result: StepResult }
  // The pre-upgrade backup, taken after a green preflight and before the first command that can
  // change the database. `path` is known (and shown) from the start; `bytes` grows while pg_dump runs.
  | { type: 'backup-started'; path: string; database: string; release: string | null }
  | { type: 'backup-progress'; path: string; bytes: number; elapsedMs: number }
  | { type: 'backup-finished'; path: string; bytes: number; sha256: string; durationMs: number }
  | { type: 'backup-failed'; path: string; message: string }
  | { type: 'run-finished'; result: RunResult };

export type RunnerEventListener = (event: RunnerEvent) => void;
