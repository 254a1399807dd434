const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The longest duration leapfrog takes (2^31 - 1 ms, 24.8 days; 596h is the largest whole number of
 * hours): Node's timers hold no longer, and a longer delay fires at once (a phase with `720h`
 * would have timed out at its start), nor does PostgreSQL's statement_timeout.
 */
export const MAX_DURATION_MS = 2_147_483_647;
export const MAX_DURATION_TEXT = '596h (24.8 days)';

/** "500ms", "10s", "30m", "6h" (a bare number is seconds) to milliseconds; undefined if malformed. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
