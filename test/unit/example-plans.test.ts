import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import { planPath } from '../../src/planner/plan-path.js';
import { planBodyOf, readPlanFile } from '../../src/plan-file/plan-file.js';
import { assertPlanMatchesCatalog } from '../../src/plan-file/plan-match.js';

// The plans committed under plans/ are examples a newcomer applies as they are: each must still
// match the shipped catalog (or it would be refused with exit 6) and be what the planner says.
describe('example plans in plans/', () => {
  it('match the shipped catalog and the planner', async () => {
    const catalog = await loadCatalog('release-images');
    const files = (await readdir('plans')).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const plan = await readPlanFile(join('plans', file));
      assertPlanMatchesCatalog(plan, catalog);
      const fresh = planPath(catalog, plan.from.release, plan.to.release);
      expect(planBodyOf(plan), file).toEqual(planBodyOf(fresh));
    }
  });
});
