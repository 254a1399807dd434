import type { Catalog } from '../catalog/release.js';
import { replanHint, StalePlanFileError, type PlanFile } from './plan-file.js';

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
      throw new StalePlanFileError(
        `plan ${path} names release ${ref.release}, which is no longer in the catalog ${catalog.dir}`,
        {
          hint,
          plan: path,
          staleness: { kind: 'release-gone', release: ref.release },
        },
      );
    }
  }
  for (const step of plan.steps) {
    const release = byId.get(step.release);
    if (!release) {
      throw new StalePlanFileError(
        `plan ${path} steps through ${step.release}, which is no longer in the catalog ${catalog.dir}`,
        {
          hint,
          plan: path,
          staleness: { kind: 'release-gone', release: step.release },
        },
      );
    }
    if (release.manifestDigest !== step.manifestDigest) {
      throw new StalePlanFileError(
        `the manifest of ${step.release} (${release.file}) changed since plan ${path} was made`,
        {
          hint,
          plan: path,
          staleness: {
            kind: 'manifest-changed',
            release: step.release,
            planned: step.manifestDigest,
            now: release.manifestDigest,
          },
        },
      );
    }
  }
  throw new StalePlanFileError(
    `the catalog ${catalog.dir} changed since plan ${path} was made (a release was added, removed or edited; the plan's own steps are unchanged, but the path may not be)`,
    {
      hint,
      plan: path,
      staleness: { kind: 'catalog-changed', planned: plan.catalogDigest, now: catalog.digest },
    },
  );
}
