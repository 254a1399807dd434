import type { ReleaseRef } from '../planner/plan.js';

/**
 * The release a step/apply was asked to reach, for the forward-only guard: `--to` resolved in
 * the catalog, or the saved plan's `to`. Undefined when neither is readable: the run itself then
 * reports that problem with its own message.
 */
export async function requestedTarget(catalogDir: string, planFile: string | undefined, to: string | undefined): Promise<ReleaseRef | undefined> {
  const { LeapfrogError } = await import('../errors/index.js');
  try {
    if (planFile !== undefined) {
      const { readPlanFile } = await import('../plan-file/read-plan-file.js');
      const plan = await readPlanFile(planFile);
      return plan.to;
    }
    if (to !== undefined) {
      const { loadCatalog } = await import('../catalog/load-catalog.js');
      const { findRelease } = await import('../catalog/find-release.js');
      const release = findRelease(await loadCatalog(catalogDir), to);
      return { release: release.id, version: release.version };
    }
  } catch (error) {
    if (error instanceof LeapfrogError) return undefined;
    throw error;
  }
  return undefined;
}
