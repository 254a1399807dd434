import { formatDuration } from '../util/duration.js';
import type { PhaseRef } from '../runner/events.js';

export function phaseLabel(ref: PhaseRef): string {
  return ref.phase === 'schema' ? `schema ${ref.name}` : ref.phase;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "12,000 done, 88,000 remaining, 4,100 rows/s, ETA 21.5s" */
export function formatProgress(p: { done: number; remaining: number; rowsPerSecond: number | null; etaMs: number | null }): string {
  const rate = p.rowsPerSecond === null ? '' : `, ${formatCount(p.rowsPerSecond)} rows/s`;
  const eta = p.etaMs === null ? '' : `, ETA ${formatDuration(p.etaMs)}`;
  return `${formatCount(p.done)} done, ${formatCount(p.remaining)} remaining${rate}${eta}`;
}

export const CHECK_RESULT_NAMES: Readonly<Record<number, string>> = { 0: 'success', 1: 'warning', 2: 'failure' };
