import type { RunnerEvent } from '../runner/events.js';
import type { TimelineEntry } from './rehearsal-report.js';

/**
 * Builds the timeline from runner events as they arrive, stamping them with the rehearsal's
 * clock: the runner reports durations, but a timeline also needs when each phase began.
 */
export class TimelineRecorder {
  readonly entries: TimelineEntry[] = [];
  readonly #open = new Map<string, TimelineEntry>();
  readonly #origin: number;

  constructor(origin: number) {
    this.#origin = origin;
  }

  /** A span the rehearsal itself timed (the copy). */
  add(entry: TimelineEntry): void {
    this.entries.push(entry);
  }

  onEvent = (event: RunnerEvent): void => {
    const now = performance.now() - this.#origin;
    if (event.type === 'phase-started') {
      const key = `${event.release}\u0000${event.phase}\u0000${event.name}`;
      const entry: TimelineEntry = {
        release: event.release,
        phase: event.phase,
        name: event.name,
        status: 'running',
        startMs: now,
        durationMs: 0,
        rowsMigrated: null,
        checks: [],
        message: null,
      };
      this.#open.set(key, entry);
      this.entries.push(entry);
    } else if (event.type === 'check-result') {
      this.#open
        .get(`${event.release}\u0000${event.phase}\u0000${event.name}`)
        ?.checks.push({ check: event.check, result: event.result, details: event.details });
    } else if (event.type === 'phase-finished') {
      const key = `${event.release}\u0000${event.phase}\u0000${event.name}`;
      const entry = this.#open.get(key);
      // Phases an earlier run finished are reported as skipped without a start: not on the timeline.
      if (entry === undefined) return;
      this.#open.delete(key);
      entry.status = event.status;
      entry.durationMs = Math.max(0, now - entry.startMs);
      entry.rowsMigrated = event.rowsMigrated;
      entry.message = event.message;
    }
  };
}
