import type { DataCommand } from '../../catalog/release.js';
import { queryWithin, SqlCheckError, type SqlBudget } from '../../checks/sql-checks.js';
import type { SqlProbe } from '../../checks/sql-probe.js';
import { logger } from '../../util/logger.js';

const log = logger('runner');

export type UntilGate = NonNullable<DataCommand['until']>;

/** What waiting for the application's own workers came to. */
export interface GateOutcome {
  status: 'succeeded' | 'failed' | 'interrupted';
  polls: number;
  /** The last count read; null when no poll returned one. */
  remaining: number | null;
  /** The first count read, so `first - remaining` is what the workers did while leapfrog waited. */
  first: number | null;
  message: string | null;
  durationMs: number;
}

export interface GateOptions extends SqlBudget {
  /** Polls in a row whose count did not decrease before the gate fails as stalled. */
  stallAfter: number;
  /** Each count as it is read, for the progress line. */
  onCount?: (count: number, first: number) => void;
}

/**
 * A data gate (`data.until`, GitLab's batched background migrations): leapfrog does no work, it
 * polls the application's own count of what is left every `pollMs` until it reads 0. It never
 * waits forever: `stallAfter` polls in a row without a decrease fail the phase naming the count,
 * and the phase timeout bounds the whole wait (the query's statement timeout included). The
 * signal (Ctrl-C) is honoured between polls, without waiting out the interval.
 */
export async function waitUntilZero(probe: SqlProbe, until: UntilGate, options: GateOptions): Promise<GateOutcome> {
  const started = performance.now();
  let polls = 0;
  let first: number | null = null;
  let last: number | null = null;
  let lowest: number | null = null;
  let stalled = 0;
  const finish = (status: GateOutcome['status'], message: string | null): GateOutcome => ({
    status,
    polls,
    remaining: last,
    first,
    message,
    durationMs: performance.now() - started,
  });
  for (;;) {
    if (options.signal.aborted)
      return finish('interrupted', 'interrupted (SIGINT/SIGTERM) while waiting for data.until');
    if (performance.now() >= options.deadline) return finish('failed', timedOutMessage(last));
    let count: number;
    try {
      count = countOf(await queryWithin(probe, 'data.until', until.sql, options));
    } catch (error) {
      // The statement timeout is what is left of the phase's budget: a poll that hits it is the phase timing out.
      if (error instanceof SqlCheckError && error.timedOut) return finish('failed', timedOutMessage(last));
      return finish('failed', `data.until query failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    polls += 1;
    first ??= count;
    log.debug(`data.until poll ${polls}: ${count} remaining`);
    options.onCount?.(count, first);
    if (count === 0) {
      last = count;
      return finish('succeeded', null);
    }
    // Against the lowest count so far, not the previous one: a count that bounces (new work
    // queued while old work finishes) without ever going lower is not progress.
    stalled = lowest !== null && count >= lowest ? stalled + 1 : 0;
    lowest = lowest === null ? count : Math.min(lowest, count);
    last = count;
    if (stalled >= options.stallAfter) {
      return finish(
        'failed',
        `stalled: data.until still counts ${count} remaining after ${stalled} polls in a row without going below ${lowest} (every ${until.pollMs} ms); the application's own migrations are not progressing`,
      );
    }
    await sleep(Math.min(until.pollMs, Math.max(0, options.deadline - performance.now())), options.signal);
  }
}

function timedOutMessage(last: number | null): string {
  return `timed out (the manifest's timeouts.data) while waiting for data.until${last === null ? '' : `: ${last} still remaining`}`;
}

/** One row, one column, a non-negative whole number (count(*) comes back as text: bigint). */
function countOf({
  columns,
  rows,
}: {
  columns: readonly string[];
  rows: readonly Readonly<Record<string, unknown>>[];
}): number {
  const row = rows[0];
  const column = columns[0];
  const value = row === undefined || column === undefined ? undefined : row[column];
  const count = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (rows.length !== 1 || columns.length !== 1 || typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new Error(
      `data.until.sql must return one row with one column, a count (e.g. select count(*) …); it returned ${rows.length} row(s) of ${columns.length} column(s)${rows.length > 0 ? ` starting with ${JSON.stringify(value)}` : ''}`,
    );
  }
  return count;
}

/** Resolves after `ms`, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
