import type { Plan } from '../planner/plan.js';

/** Facts about how a plan file was made; outside the plan body, so outside its digest. */
export interface PlanFileMeta {
  /** ISO 8601. */
  createdAt: string;
  leapfrogVersion: string;
}

/**
 * `plans/<from>-to-<to>.json`: the plan body, its digest, and when and by what it was made.
 * `planDigest` pins the body: an edited plan is refused as stale (exit 6).
 */
export interface PlanFile extends Plan, PlanFileMeta {
  planDigest: string;
}
