import type { ValidationCheck } from './validation-problem.js';

/** One JUnit test case: a check applied to one subject (a manifest, a pair, a rehearsal). */
export interface ValidationCase {
  check: ValidationCheck;
  name: string;
  /** Empty when the case passed. */
  failures: string[];
  timeMs: number;
  /** Extra output for the JUnit report (e.g. a rehearsal's phase timings). */
  output?: string;
}
