import type { PhaseName, Release } from '../catalog/release.js';

export type OutputStream = 'stdout' | 'stderr';

export interface PhaseRunOptions {
  /** Ledger run id; the docker executor labels containers with it (`leapfrog.run`). */
  runId: string;
  release: Release;
  phase: PhaseName;
  /**
   * The full environment the command needs beyond the executor's own: the manifest's env plus
   * the database URL under its configured name. Values are secrets: never print or log them.
   */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** Aborted on SIGINT/SIGTERM: the executor stops the command and resolves (never hangs). */
  signal: AbortSignal;
  /** Each complete output line, as it arrives, without the trailing newline. */
  onLine: (line: string, stream: OutputStream) => void;
}

export interface PhaseRunResult {
  /** The command's exit code; null when it was killed before it exited. */
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** The last lines of combined output (at most ~50), for the ledger and error messages. */
  outputTail: readonly string[];
}

/**
 * Runs one phase command for one release. `process` (node:child_process) and `docker` (dockerode) implement
 * it; the runner knows only this role. A non-zero exit is a result, not an exception: only a
 * failure to run at all (missing binary, missing image, engine unreachable) throws, as a
 * LeapfrogError with the way out.
 */
export interface PhaseExecutor extends AsyncDisposable {
  readonly kind: 'process' | 'docker';
  /** Called once before the first phase: check prerequisites, reap leftovers of crashed runs. */
  prepare(releases: readonly Release[], runId: string): Promise<void>;
  run(command: readonly string[], options: PhaseRunOptions): Promise<PhaseRunResult>;
}
