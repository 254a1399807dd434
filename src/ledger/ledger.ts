import type { PhaseName } from '../catalog/release.js';
import type { ReleaseRef } from '../planner/plan.js';

export type RunMode = 'step' | 'apply';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type PhaseStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** The database's current release as the ledger records it. */
export interface LedgerState extends ReleaseRef {
  updatedAt: Date;
}

export interface NewRun {
  planDigest: string;
  from: ReleaseRef;
  to: ReleaseRef;
  mode: RunMode;
  host: string;
  pid: number;
}

export interface RunRecord extends NewRun {
  id: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
}

/**
 * Identifies one phase of one hop. Keyed by the hop (the release the step starts from and the
 * release it reaches), not by the plan, so that `apply --to X` re-planned after a crash from a
 * later release still finds the phases the first attempt finished.
 */
export interface PhaseKey {
  fromRelease: string;
  release: string;
  phase: PhaseName;
  /** The schema command's name, or the phase name for preflight/data/check. */
  name: string;
}

export interface PhaseResultRecord {
  status: Exclude<PhaseStatus, 'running'>;
  exitCode: number | null;
  /** Already redacted by the caller. */
  outputTail: readonly string[];
  durationMs: number;
  rowsMigrated: number | null;
  details: Record<string, unknown> | null;
}

/** A phase's result waiting to be recorded with the next phase's start (`Ledger.startPhase`). */
export interface FinishedPhase {
  key: PhaseKey;
  result: PhaseResultRecord;
}

export interface PhaseRecord extends PhaseKey, Omit<PhaseResultRecord, 'status'> {
  runId: string;
  planDigest: string;
  attempts: number;
  startedAt: Date;
  finishedAt: Date | null;
  status: PhaseStatus;
}

export interface BackupRecord {
  id: string;
  release: string;
  version: string;
  path: string;
  format: string;
  bytes: number;
  sha256: string;
  durationMs: number;
  createdAt: Date;
  runId: string | null;
  /** The database identity the backup was taken of (src/backup/database-identity.ts). */
  databaseId: string | null;
  systemIdentifier: string | null;
  databaseName: string | null;
}

/** The identity fields are optional: a row written without them is the ledger's own database. */
export type NewBackup = Omit<BackupRecord, 'id' | 'createdAt' | 'databaseId' | 'systemIdentifier' | 'databaseName'> &
  Partial<Pick<BackupRecord, 'databaseId' | 'systemIdentifier' | 'databaseName'>>;

/**
 * leapfrog's memory of a database: its current release, the runs, one record per phase, and
 * the backups. It lives inside the target database (so a restored backup brings its ledger
 * along). `PostgresLedger` implements it; unit tests use an in-memory one.
 */
export interface Ledger extends AsyncDisposable {
  readonly schema: string;
  /**
   * Set on a ledger opened under the lock: aborted (its reason a LockLostError) once the lock is
   * lost. The runner stops the phase command on it; every write is refused from then on.
   */
  readonly lockLost?: AbortSignal;
  currentRelease(): Promise<LedgerState | null>;
  /** Adopts a database leapfrog has never seen; the caller checks for refusal first. */
  setCurrentRelease(release: ReleaseRef): Promise<void>;
  startRun(run: NewRun): Promise<RunRecord>;
  finishRun(runId: string, status: Exclude<RunStatus, 'running'>): Promise<void>;
  /** Marks runs left `running` by a crashed process as interrupted (call while holding the lock). */
  closeAbandonedRuns(): Promise<number>;
  runningRuns(): Promise<RunRecord[]>;
  lastRun(): Promise<RunRecord | null>;
  phase(key: PhaseKey): Promise<PhaseRecord | null>;
  /**
   * Every phase record of one hop (from `fromRelease` to `release`) in the current episode: what
   * the runner reads once per step, instead of once per phase, to know which phases are done.
   */
  hopPhases(hop: Pick<PhaseKey, 'fromRelease' | 'release'>): Promise<PhaseRecord[]>;
  /**
   * Records that a phase started (status running, attempts + 1) before its command runs. With
   * `previous`, the result of the phase before it is recorded in the same statement: one round
   * trip between two phases instead of two. Only a result that does not move the release.
   */
  startPhase(key: PhaseKey, runId: string, planDigest: string, previous?: FinishedPhase): Promise<void>;
  /**
   * Records a phase's result. With `advanceTo`, the current release moves in the same
   * transaction, so a crash can never leave a green check unrecorded with the release moved,
   * nor the release moved without its check.
   */
  finishPhase(key: PhaseKey, result: PhaseResultRecord, advanceTo?: ReleaseRef): Promise<void>;
  phasesOfRun(runId: string): Promise<PhaseRecord[]>;
  lastFailedPhase(): Promise<PhaseRecord | null>;
  recordBackup(backup: NewBackup): Promise<BackupRecord>;
  backups(): Promise<BackupRecord[]>;
}
