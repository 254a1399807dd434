/**
 * A plan is data: the ordered stops from the database's release to the target, each with the
 * reasons it is a stop. The planner produces it; plan-file stores it; the runner walks it.
 */

export type StepReason =
  /**
   * A required stop (SLURP, GitLab upgrade stop): no path may skip it. `milestone` names the
   * milestone release when this stop is a newer patch of its series standing in for it.
   */
  | { kind: 'milestone'; milestone?: string }
  /** This release's upgradeFrom range admits the previous stop, which is why the hop is allowed. */
  | { kind: 'accepts'; range: string; previous: string }
  /** The release the operator asked for. */
  | { kind: 'target' };

export interface PlanStep {
  release: string;
  version: string;
  /** null when the release names no image (a process-executor catalog). */
  image: string | null;
  /** "sha256:…" image id/digest, when the image was present at planning time; null otherwise. */
  imageDigest: string | null;
  manifestDigest: string;
  reasons: readonly StepReason[];
}

export interface ReleaseRef {
  release: string;
  version: string;
}

export interface Plan {
  planVersion: 1;
  from: ReleaseRef;
  to: ReleaseRef;
  steps: readonly PlanStep[];
  catalogDigest: string;
}
