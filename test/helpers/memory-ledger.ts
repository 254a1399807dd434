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
  RunRecord,
  RunStatus,
} from '../../src/ledger/ledger.js';
import type { ReleaseRef } from '../../src/planner/plan.js';

/** An in-memory Ledger for unit tests of the runner; PostgresLedger is tested on real Postgres. */
export class MemoryLedger implements Ledger {
  readonly schema = 'memory';
  state: LedgerState | null = null;
  readonly runs: RunRecord[] = [];
  readonly phases = new Map<string, PhaseRecord>();
  readonly backupsList: BackupRecord[] = [];
  /** Every write in order, to assert "recorded before the next begins". */
  readonly writes: string[] = [];

  constructor(current?: ReleaseRef) {
    if (current) this.state = { ...current, updatedAt: new Date() };
  }

  currentRelease(): Promise<LedgerState | null> {
    return Promise.resolve(this.state);
  }
  setCurrentRelease(release: ReleaseRef): Promise<void> {
    this.state = { ...release, updatedAt: new Date() };
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
    return Promise.resolve(this.phases.get(keyOf(key)) ?? null);
  }
  startPhase(key: PhaseKey, runId: string, planDigest: string): Promise<void> {
    const previous = this.phases.get(keyOf(key));
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
    return Promise.resolve();
  }
  finishPhase(key: PhaseKey, result: PhaseResultRecord, advanceTo?: ReleaseRef): Promise<void> {
    const record = this.phases.get(keyOf(key));
    if (!record) throw new Error(`finishPhase before startPhase: ${keyOf(key)}`);
    Object.assign(record, result, { finishedAt: new Date() });
    this.writes.push(`finish ${keyOf(key)} ${result.status}`);
    if (advanceTo) {
      this.state = { ...advanceTo, updatedAt: new Date() };
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

export function keyOf(key: PhaseKey): string {
  return `${key.fromRelease}>${key.release}/${key.phase}/${key.name}`;
}
