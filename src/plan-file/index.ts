export type { PlanFile, PlanFileMeta } from './plan-file.js';
export { planDigestOf, planBodyOf } from './plan-digest.js';
export { writePlanFile, toPlanFile } from './write-plan-file.js';
export { readPlanFile } from './read-plan-file.js';
export { assertPlanMatchesCatalog } from './assert-plan-matches-catalog.js';
