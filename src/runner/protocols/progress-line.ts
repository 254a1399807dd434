/**
 * `{"progress":{"migration":"backfill_x","done":5000,"remaining":95000,"unit":"rows"}}` on stdout.
 * `done` is what this invocation has migrated so far (nova-manage's "Completed" column);
 * `remaining` is what is left after that. `unit` names what is counted ("rows", "jobs",
 * "batches"…) so people see the command's own word; it is optional and defaults to "rows". A
 * command may print several lines per migration; the last counts.
 */
export interface ProgressReport {
  migration: string;
  done: number;
  remaining: number;
  unit: string;
}

export const DEFAULT_PROGRESS_UNIT = 'rows';

/** A unit is a short word or two; anything else (a number, an essay) falls back to the default. */
const UNIT = /^[\p{L}][\p{L}\p{N} _-]{0,23}$/u;

export function parseProgressLine(line: string): ProgressReport | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{"progress"') && !trimmed.startsWith('{ "progress"')) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const progress = (value as { progress?: unknown }).progress;
  if (typeof progress !== 'object' || progress === null) return null;
  const { migration, done, remaining, unit } = progress as Record<string, unknown>;
  if (typeof migration !== 'string' || !isCount(done) || !isCount(remaining)) return null;
  return {
    migration,
    done,
    remaining,
    unit: typeof unit === 'string' && UNIT.test(unit.trim()) ? unit.trim() : DEFAULT_PROGRESS_UNIT,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
