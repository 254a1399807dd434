import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Plan } from '../planner/plan.js';
import type { PlanFile, PlanFileMeta } from './plan-file.js';
import { planBodyOf, planDigestOf } from './plan-digest.js';

/** The plan file object for a plan: body, meta and the digest that pins the body. */
export function toPlanFile(plan: Plan, meta: PlanFileMeta): PlanFile {
  return { ...planBodyOf(plan), createdAt: meta.createdAt, leapfrogVersion: meta.leapfrogVersion, planDigest: planDigestOf(plan) };
}

/**
 * Writes the plan file atomically (temp file, then rename), creating its folder: a crash never
 * leaves half a plan for `apply` to read. Plans hold ids, versions and digests only, never secrets.
 */
export async function writePlanFile(path: string, plan: Plan, meta: PlanFileMeta): Promise<PlanFile> {
  const file = toPlanFile(plan, meta);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
  return file;
}
