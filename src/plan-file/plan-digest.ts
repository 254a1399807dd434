import { sha256Digest } from '../catalog/digest.js';
import type { Plan } from '../planner/plan.js';
import { canonicalJson } from './canonical-json.js';

/** The plan body alone: a PlanFile's meta (createdAt, version, the digest itself) is left out. */
export function planBodyOf(plan: Plan): Plan {
  return { planVersion: plan.planVersion, from: plan.from, to: plan.to, steps: plan.steps, catalogDigest: plan.catalogDigest };
}

/** "sha256:<hex>" of the canonical JSON of the plan body. */
export function planDigestOf(plan: Plan): string {
  return sha256Digest(canonicalJson(planBodyOf(plan)));
}
