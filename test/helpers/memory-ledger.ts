import { randomUUID } from 'node:crypto';
import type {
  BackupRecord,
  Ledger,
  LedgerState,
  NewBackup,
  NewRun,
  PhaseKey,
  PhaseRecord,
  PhaseResultRecord,
  FinishedPhase,
  RunRecord,
  RunStatus,
} from '../../src/ledger/ledger.js';
import type { ReleaseRef } from '../../src/planner/plan.js';

/**
 * An in-memory Ledger for unit tests of the runner; PostgresLedger is tested on real Postgres.
 * Same resume rule: setting the release (baseline) starts a new episode, an advance keeps it,
 * every phase record carries the episode it was started in, and `phase()` answers only with the
 * current episode's.
 */
export class MemoryLedger implements Ledger {
  readonly schema = 'memory';
  state: LedgerState | null = null;
  /** The current episode (0: no state yet); a counter, so the rule does not hang on the clock. */
  episode = 0;
  readonly runs: RunRecord[] = [];
  readonly phases = new Map<string, PhaseRecord>();
  /** The episode each phase record was started in, by keyOf. */
  readonly phaseEpisodes = new Map<string, number>();
  readonly backupsList: BackupRecord[] = [];
  /** Every write in order, to assert "recorded before the next begins". */
  readonly writes: string[] = [];

  constructor(current?: ReleaseRef) {
    if (current) this.setState(current, NEW_EPISODE);
  }

  private setState(release: ReleaseRef, newEpisode: boolean): void {
    this.state = { ...release, updatedAt: new Date() };
    if (newEpisode || this.episode === 0) this.episode += 1;
  }

  currentRelease(): Promise<LedgerState | null> {
    return Promise.resolve(this.state);
  }
  setCurrentRelease(release: ReleaseRef): Promise<void> {
    this.setState(release, NEW_EPISODE);
    this.writes.push(`advance ${release.release}`);
    return Promise.resolve();
  }
  startRun(run: NewRun): Promise<RunRecord> {
    const record: RunRecord = { ...run, id: randomUUID(), status: 'running', startedAt: new Date(), finishedAt: null };
    this.runs.push(record);
    return Promise.resolve(record);
  }
  finishRun(runId: string, status: Exclude<RunStatus, 'running'>): Promise<void> {
    const run = this.runs.find((r) => r.id === runId);
    if (run) Object.assign(run, { status, finishedAt: new Date() });
    return Promise.resolve();
  }
  closeAbandonedRuns(): Promise<number> {
    return Promise.resolve(0);
  }
  runningRuns(): Promise<RunRecord[]> {
    return Promise.resolve(this.runs.filter((r) => r.status === 'running'));
  }
  lastRun(): Promise<RunRecord | null> {
    return Promise.resolve(this.runs.at(-1) ?? null);
  }
  phase(key: PhaseKey): Promise<PhaseRecord | null> {
    return Promise.resolve(this.currentPhase(key));
  }
  hopPhases(hop: Pick<PhaseKey, 'fromRelease' | 'release'>): Promise<PhaseRecord[]> {
    const records = [...this.phases.values()].filter(
      (r) => r.fromRelease === hop.fromRelease && r.release === hop.release,
    );
    return Promise.resolve(records.flatMap((r) => this.currentPhase(r) ?? []));
  }
  /** The record of this episode: one from before the state was last set no longer counts. */
  private currentPhase(key: PhaseKey): PhaseRecord | null {
    const current = this.state !== null && this.phaseEpisodes.get(keyOf(key)) === this.episode;
    return current ? (this.phases.get(keyOf(key)) ?? null) : null;
  }
  async startPhase(key: PhaseKey, runId: string, planDigest: string, finished?: FinishedPhase): Promise<void> {
    // One statement in the real ledger: the earlier phase's result first, then this start.
    if (finished !== undefined) await this.finishPhase(finished.key, finished.result);
    const previous = this.currentPhase(key);
    this.phaseEpisodes.set(keyOf(key), this.episode);
    this.phases.set(keyOf(key), {
      ...key,
      runId,
      planDigest,
      status: 'running',
      attempts: (previous?.attempts ?? 0) + 1,
      exitCode: null,
      outputTail: [],
      durationMs: 0,
      rowsMigrated: null,
      details: null,
      startedAt: new Date(),
      finishedAt: null,
    });
    this.writes.push(`start ${keyOf(key)}`);
  }
  finishPhase(key: PhaseKey, result: PhaseResultRecord, advanceTo?: ReleaseRef): Promise<void> {
    const record = this.phases.get(keyOf(key));
    if (!record) throw new Error(`finishPhase before startPhase: ${keyOf(key)}`);
    Object.assign(record, result, { finishedAt: new Date() });
    this.writes.push(`finish ${keyOf(key)} ${result.status}`);
    if (advanceTo) {
      this.setState(advanceTo, !NEW_EPISODE);
      this.writes.push(`advance ${advanceTo.release}`);
    }
    return Promise.resolve();
  }
  phasesOfRun(runId: string): Promise<PhaseRecord[]> {
    return Promise.resolve([...this.phases.values()].filter((p) => p.runId === runId));
  }
  lastFailedPhase(): Promise<PhaseRecord | null> {
    return Promise.resolve(
      [...this.phases.values()].filter((p) => p.status === 'failed' || p.status === 'interrupted').at(-1) ?? null,
    );
  }
  recordBackup(backup: NewBackup): Promise<BackupRecord> {
    const record: BackupRecord = {
      ...backup,
      id: randomUUID(),
      createdAt: new Date(),
      databaseId: backup.databaseId ?? null,
      systemIdentifier: backup.systemIdentifier ?? null,
      databaseName: backup.databaseName ?? null,
    };
    this.backupsList.push(record);
    return Promise.resolve(record);
  }
  backups(): Promise<BackupRecord[]> {
    return Promise.resolve([...this.backupsList]);
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

const NEW_EPISODE = true;

export function keyOf(key: PhaseKey): string {
  return `${key.fromRelease}>${key.release}/${key.phase}/${key.name}`;
}
