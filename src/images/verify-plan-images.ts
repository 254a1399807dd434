import type Dockerode from 'dockerode';
import type { Plan } from '../planner/plan.js';
import { StalePlanError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';
import { tryConnectDocker } from './docker-connection.js';
import { imageDigest } from './image-digest.js';

export interface PlanImageCheck {
  release: string;
  image: string;
  pinned: string;
  /** The image's digest now; null when it is not present (nothing to compare) or no engine answered. */
  current: string | null;
}

/**
 * Refuses a saved plan (exit 6) when an image it pinned now has another digest: the tag was
 * rebuilt or re-pulled with different migrations than the ones the plan was reviewed against.
 * Steps pinned without a digest, images no longer present and machines without Docker are not
 * mismatches: there is nothing to compare, and the docker executor's prepare() reports a
 * missing image on its own. Returns what was compared, for the run's log.
 */
export async function verifyPlanImages(
  plan: Plan,
  options: { planFile?: string; docker?: Dockerode; socketPath?: string } = {},
): Promise<PlanImageCheck[]> {
  const pinnedSteps = plan.steps.filter((step) => step.imageDigest !== null && step.image !== null);
  if (pinnedSteps.length === 0) return [];
  let docker = options.docker;
  if (docker === undefined) {
    const connected = await tryConnectDocker(
      options.socketPath === undefined ? {} : { socketPath: options.socketPath },
    );
    if (connected === null) return [];
    docker = connected;
  }
  const checks: PlanImageCheck[] = [];
  for (const step of pinnedSteps) {
    checks.push({
      release: step.release,
      image: step.image as string,
      pinned: step.imageDigest as string,
      current: await imageDigest(step.image as string, docker),
    });
  }
  const changed = checks.filter((check) => check.current !== null && check.current !== check.pinned);
  if (changed.length > 0) {
    const what = changed
      .map((c) => `${c.image} (release ${c.release}) is now ${short(c.current)} but the plan pinned ${short(c.pinned)}`)
      .join('; ');
    const file = options.planFile ?? 'plans/<from>-to-<to>.json';
    throw new StalePlanError(`the plan is stale: ${what}`, {
      hint: `review the rebuilt image${changed.length === 1 ? '' : 's'}, then plan again: ${nextCommand('plan', '--from', plan.from.release, '--to', plan.to.release, '--out', file)}`,
      details: { images: changed },
    });
  }
  return checks;
}

function short(digest: string | null): string {
  return digest === null ? '(absent)' : digest.slice(0, 19);
}
