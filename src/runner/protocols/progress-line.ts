/**
 * `{"progress":{"migration":"backfill_x","done":5000,"remaining":95000}}` on stdout. `done` is
 * what this invocation has migrated so far (nova-manage's "Completed" column); `remaining` is
 * what is left after that. A command may print several lines per migration; the last counts.
 */
export interface ProgressReport {
  migration: string;
  done: number;
  remaining: number;
}

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
  const { migration, done, remaining } = progress as Record<string, unknown>;
  if (typeof migration !== 'string' || !isCount(done) || !isCount(remaining)) return null;
  return { migration, done, remaining };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
