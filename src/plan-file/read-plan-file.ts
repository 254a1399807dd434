import { readFile } from 'node:fs/promises';
import { BadInputError, StalePlanError } from '../errors/index.js';
import { formatPath } from '../catalog/manifest-schema.js';
import type { PlanFile } from './plan-file.js';
import { planFileSchema } from './plan-file-schema.js';
import { planDigestOf } from './plan-digest.js';
import { replanHint } from './replan-hint.js';
import { nextCommand } from '../util/next-command.js';

/**
 * Reads and validates a plan file. A plan of another planVersion, or one whose body no longer
 * matches its planDigest (edited by hand), is stale (exit 6); anything that is not a plan file
 * at all is bad input (exit 2) naming the file and field.
 */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BadInputError(`cannot read plan file ${path}${code === 'ENOENT' ? ': it does not exist' : `: ${code ?? String(error)}`}`, {
      hint: `write one with: ${nextCommand('plan', '--from', '<release>', '--to', '<release>', '--out', path)}`,
      cause: error,
      details: { plan: path },
    });
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BadInputError(`plan file ${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `write it again with: ${nextCommand('plan', '--from', '<release>', '--to', '<release>', '--out', path)}`,
      cause: error,
      details: { plan: path },
    });
  }

  const hint = replanHint(raw, path);
  if (raw !== null && typeof raw === 'object' && 'planVersion' in raw && raw.planVersion !== 1) {
    throw new StalePlanError(`plan file ${path} has planVersion ${JSON.stringify(raw.planVersion)}; this leapfrog reads planVersion 1`, {
      hint,
      details: { plan: path, planVersion: raw.planVersion },
    });
  }

  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => {
      const where = issue.code === 'unrecognized_keys' ? formatPath([...issue.path, issue.keys[0] ?? '']) : formatPath(issue.path);
      const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
      return `${where || '(file)'}: ${message}`;
    });
    throw new BadInputError(`plan file ${path} is not a valid plan:\n${fields.map((f) => `  ${f}`).join('\n')}`, {
      hint,
      details: { plan: path, problems: fields },
    });
  }

  const file = parsed.data as PlanFile;
  const digest = planDigestOf(file);
  if (digest !== file.planDigest) {
    throw new StalePlanError(`plan file ${path} was changed after it was written: its planDigest does not match its steps`, {
      hint,
      details: { plan: path, expected: file.planDigest, actual: digest },
    });
  }
  return file;
}
