import semver from 'semver';
import { RefusedError, StalePlanError } from '../errors/index.js';
import type { Plan, PlanStep, ReleaseRef } from '../planner/plan.js';
import { nextCommand } from '../util/next-command.js';

export interface PendingStep {
  step: PlanStep;
  /** Index in plan.steps. */
  index: number;
  /** The release this hop starts from: plan.from or the previous step. */
  from: ReleaseRef;
}

/**
 * Where the database is on the plan. The plan's `from` or any step already reached is a valid
 * position (resume); anything else means the plan was made for another database state. Pure.
 */
export function pendingSteps(plan: Plan, current: ReleaseRef): PendingStep[] {
  const chain: ReleaseRef[] = [plan.from, ...plan.steps.map((s) => ({ release: s.release, version: s.version }))];
  const position = chain.findIndex((r) => r.release === current.release);
  if (position === -1) {
    const currentVersion = semver.valid(current.version);
    const target = semver.valid(plan.to.version);
    if (currentVersion !== null && target !== null && semver.gt(currentVersion, target)) {
      throw new RefusedError(
        `refused: the database is at ${current.release} (${current.version}), newer than the plan's target ${plan.to.release}; leapfrog never downgrades`,
        {
          hint: `the way back is the backup taken before the upgrade: \`${nextCommand('backups')}\` lists them, \`${nextCommand('restore', '<backup>')}\` restores one`,
          details: { current, target: plan.to },
        },
      );
    }
    throw new StalePlanError(
      `stale plan: it starts at ${plan.from.release}, but the database is at ${current.release}, which is not a stop of this plan`,
      {
        hint: `plan again from where the database is: \`${nextCommand('plan', '--from', current.release, '--to', plan.to.release)}\`, or let apply plan in memory: \`${nextCommand('apply', '--to', plan.to.release)}\``,
        details: { planFrom: plan.from, current, planTo: plan.to },
      },
    );
  }
  return plan.steps.slice(position).map((step, i) => ({
    step,
    index: position + i,
    from: chain[position + i] as ReleaseRef,
  }));
}
