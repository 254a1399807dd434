import type { CheckResult } from '../runner/protocols/protocol-outcome.js';

/** One bar of the timeline: a phase of a step, or the copy that made the scratch database. */
export interface TimelineEntry {
  release: string;
  /** preflight | schema | data | check, or `copy` for the scratch database's creation. */
  phase: string;
  name: string;
  status: string;
  /** Milliseconds from the start of the rehearsal. */
  startMs: number;
  durationMs: number;
  rowsMigrated: number | null;
  checks: CheckResult[];
  message: string | null;
}

/** What `rehearse` writes as JSON (and renders as HTML). Never holds a secret. */
export interface RehearsalReport {
  type: 'rehearsal';
  reportVersion: 1;
  status: 'succeeded' | 'failed';
  plan: { file: string; from: string; to: string; path: string[]; planDigest: string };
  /** How the scratch database was made. */
  source: { kind: 'clone'; database: string } | { kind: 'backup'; path: string; sha256: string };
  scratch: { database: string; kept: boolean };
  startedAt: string;
  durationMs: number;
  copyMs: number;
  runMs: number;
  rowsMigrated: number;
  finalRelease: string | null;
  timeline: TimelineEntry[];
  error: { message: string; hint: string; exitCode: number } | null;
}
