import { join } from 'node:path';
import { execa } from 'execa';
import type { Catalog } from '../catalog/release.js';
import { buildReleaseImage } from '../images/build-image.js';
import { connectDocker } from '../images/docker-connection.js';
import { imageDigest } from '../images/image-digest.js';
import { requireKitBundle } from '../images/kit-bundle.js';
import type { Plan } from '../planner/plan.js';
import { logger } from '../util/logger.js';
import { packageRoot } from '../util/package-root.js';

const log = logger('demo');

/** The base image scripts/build-base-image.sh makes from this host's node, with no registry. */
export const OFFLINE_BASE_IMAGE = 'leapfrog/node-base:local';

/**
 * `demo --executor docker` on a fresh machine: the demo must walk its path in real containers
 * without a registry, so any release image the plan needs and the engine lacks is built here on
 * the offline base image (itself built first when absent). Images already present are used as
 * they are, like `leapfrog apply` would.
 */
export async function ensureDemoImages(catalog: Catalog, plan: Plan, say: (line: string) => void): Promise<void> {
  const docker = await connectDocker();
  const missing = [];
  for (const step of plan.steps) {
    if (step.image === null || (await imageDigest(step.image, docker)) === null) missing.push(step.release);
  }
  if (missing.length === 0) return;
  if ((await imageDigest(OFFLINE_BASE_IMAGE, docker)) === null) {
    say(`building the offline base image ${OFFLINE_BASE_IMAGE} from this host's node`);
    log.debug(`running scripts/build-base-image.sh --tag ${OFFLINE_BASE_IMAGE}`);
    await execa(join(packageRoot(), 'scripts', 'build-base-image.sh'), ['--tag', OFFLINE_BASE_IMAGE]);
  }
  const kitBundlePath = requireKitBundle();
  for (const id of missing) {
    const release = catalog.releases.find((r) => r.id === id);
    if (release === undefined) continue;
    const started = performance.now();
    await buildReleaseImage(docker, { catalog, release, kitBundlePath, baseImage: OFFLINE_BASE_IMAGE });
    say(`built ${release.image} on ${OFFLINE_BASE_IMAGE} (${Math.round(performance.now() - started)} ms)`);
  }
}
