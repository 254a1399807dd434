import type { ProgressReport } from './protocols/progress-line.js';

/** One data migration's progress over the whole phase (every invocation of the command). */
export interface MigrationProgress {
  migration: string;
  unit: string;
  done: number;
  remaining: number;
}

/** What the `progress` event carries besides the phase it is about. */
export interface ProgressSnapshot {
  /** The migration this line was about, and its own totals over the phase. */
  migration: string;
  unit: string;
  migrationDone: number;
  migrationRemaining: number;
  /** The phase: every migration reported so far. Mixed units add up as "items". */
  phaseUnit: string;
  phaseDone: number;
  phaseRemaining: number;
  /** Same as phaseDone / phaseRemaining: the names JSON consumers read before units existed. */
  done: number;
  remaining: number;
  /** Phase units per second since the phase started (the name predates units). */
  rowsPerSecond: number | null;
  /** Time to finish what is known to remain, at the phase's rate so far. */
  etaMs: number | null;
  migrations: readonly MigrationProgress[];
}

/**
 * Adds a data phase's progress lines up per migration and for the phase. A `batches` phase runs
 * its command several times: each invocation's `done` counts from zero, while `remaining` is
 * always the latest word on what is left. A migration that an invocation has not reached yet
 * keeps the `remaining` it last reported, so the phase total never forgets work still to come.
 */
export class PhaseProgress {
  /** done by invocations that have ended, per migration, in order of first report. */
  private readonly earlier = new Map<string, number>();
  private readonly latest = new Map<string, ProgressReport>();
  /** The running invocation's last report per migration. */
  private current = new Map<string, ProgressReport>();

  constructor(private readonly startedAtMs: number) {}

  /** A new invocation of the command starts: what the last one did is now history. */
  nextInvocation(): void {
    for (const [migration, report] of this.current)
      this.earlier.set(migration, (this.earlier.get(migration) ?? 0) + report.done);
    this.current = new Map();
  }

  report(report: ProgressReport, nowMs: number): ProgressSnapshot {
    if (!this.earlier.has(report.migration)) this.earlier.set(report.migration, 0);
    this.current.set(report.migration, report);
    this.latest.set(report.migration, report);
    const migrations = [...this.earlier.keys()].map((migration) => this.migration(migration));
    const own = migrations.find((m) => m.migration === report.migration) as MigrationProgress;
    const phaseDone = sum(migrations.map((m) => m.done));
    const phaseRemaining = sum(migrations.map((m) => m.remaining));
    const units = new Set(migrations.map((m) => m.unit));
    const seconds = (nowMs - this.startedAtMs) / 1000;
    const perSecond = seconds > 0 && phaseDone > 0 ? phaseDone / seconds : null;
    return {
      migration: report.migration,
      unit: report.unit,
      migrationDone: own.done,
      migrationRemaining: own.remaining,
      phaseUnit: units.size === 1 ? report.unit : 'items',
      phaseDone,
      phaseRemaining,
      done: phaseDone,
      remaining: phaseRemaining,
      rowsPerSecond: perSecond,
      etaMs: perSecond === null ? null : (phaseRemaining / perSecond) * 1000,
      migrations,
    };
  }

  private migration(migration: string): MigrationProgress {
    const latest = this.latest.get(migration) as ProgressReport;
    const done = (this.earlier.get(migration) ?? 0) + (this.current.get(migration)?.done ?? 0);
    return { migration, unit: latest.unit, done, remaining: latest.remaining };
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
