import type { Catalog } from '../catalog/release.js';
import { StalePlanError } from '../errors/index.js';
import { replanHint, type PlanFile } from './plan-file.js';

/**
 * Refuses (exit 6) a plan made against another catalog: a changed manifest may run different
 * commands, and an added or removed release may change the path itself. Names the release whose
 * manifest changed when one of the plan's own steps did.
 */
export function assertPlanMatchesCatalog(plan: PlanFile, catalog: Catalog, path = 'plans/<file>.json'): void {
  if (plan.catalogDigest === catalog.digest) return;
  const hint = replanHint(plan, path);
  const byId = new Map(catalog.releases.map((r) => [r.id, r]));
  for (const ref of [plan.from, plan.to]) {
    if (!byId.has(ref.release)) {
      throw new StalePlanError(`plan ${path} names release ${ref.release}, which is no longer in the catalog ${catalog.dir}`, {
        hint,
        details: { plan: path, release: ref.release },
      });
    }
  }
  for (const step of plan.steps) {
    const release = byId.get(step.release);
    if (!release) {
      throw new StalePlanError(`plan ${path} steps through ${step.release}, which is no longer in the catalog ${catalog.dir}`, {
        hint,
        details: { plan: path, release: step.release },
      });
    }
    if (release.manifestDigest !== step.manifestDigest) {
      throw new StalePlanError(`the manifest of ${step.release} (${release.file}) changed since plan ${path} was made`, {
        hint,
        details: { plan: path, release: step.release, planned: step.manifestDigest, now: release.manifestDigest },
      });
    }
  }
  throw new StalePlanError(`the catalog ${catalog.dir} changed since plan ${path} was made (a release was added, removed or edited; the plan's own steps are unchanged, but the path may not be)`, {
    hint,
    details: { plan: path, planned: plan.catalogDigest, now: catalog.digest },
  });
}
