import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sha256Digest } from '../catalog/digest.js';
import { BadInputError, StalePlanError } from '../errors/index.js';
import type { Plan } from '../planner/plan.js';
import { nextCommand } from '../util/next-command.js';

/**
 * `plans/<from>-to-<to>.json`: the plan as versioned data. Its schema, the canonical JSON and
 * digest that pin its body, and reading (validated) and writing (atomic) it.
 */

/** Facts about how a plan file was made; outside the plan body, so outside its digest. */
export interface PlanFileMeta {
  /** ISO 8601. */
  createdAt: string;
  leapfrogVersion: string;
}

/**
 * `plans/<from>-to-<to>.json`: the plan body, its digest, and when and by what it was made.
 * `planDigest` pins the body: an edited plan is refused as stale (exit 6).
 */
export interface PlanFile extends Plan, PlanFileMeta {
  planDigest: string;
}

/**
 * A plan file that cannot be read or is not a plan (exit 2): `plan` is its path, `problems` one
 * `field: message` line per schema problem (empty when the file could not be read or parsed).
 */
export class InvalidPlanFileError extends BadInputError {
  readonly plan: string;
  readonly problems: readonly string[];

  constructor(message: string, options: { hint: string; plan: string; problems?: readonly string[]; cause?: unknown }) {
    const problems = options.problems ?? [];
    super(message, {
      hint: options.hint,
      cause: options.cause,
      details: problems.length === 0 ? { plan: options.plan } : { plan: options.plan, problems },
    });
    this.plan = options.plan;
    this.problems = problems;
  }
}

/** Why a plan no longer pins what it planned. */
export type PlanStaleness =
  | { kind: 'plan-version'; planVersion: unknown }
  | { kind: 'edited'; expected: string; actual: string }
  | { kind: 'release-gone'; release: string }
  | { kind: 'manifest-changed'; release: string; planned: string; now: string }
  | { kind: 'catalog-changed'; planned: string; now: string };

/**
 * A plan of another planVersion, edited by hand, or made against another catalog (exit 6). The
 * JSON `details` are `{plan, ...}` the staleness' facts without its kind.
 */
export class StalePlanFileError extends StalePlanError {
  readonly plan: string;
  readonly staleness: PlanStaleness;

  constructor(message: string, options: { hint: string; plan: string; staleness: PlanStaleness }) {
    const { kind: _kind, ...facts } = options.staleness;
    super(message, { hint: options.hint, details: { plan: options.plan, ...facts } });
    this.plan = options.plan;
    this.staleness = options.staleness;
  }
}

/**
 * JSON with object keys sorted at every level and no whitespace: the same data always gives the
 * same bytes, whatever order a writer or an editor put the keys in, so digests stay stable.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = sortKeys(item);
    }
    return out;
  }
  return value;
}

/** The plan body alone: a PlanFile's meta (createdAt, version, the digest itself) is left out. */
export function planBodyOf(plan: Plan): Plan {
  return {
    planVersion: plan.planVersion,
    from: plan.from,
    to: plan.to,
    steps: plan.steps,
    catalogDigest: plan.catalogDigest,
  };
}

/** "sha256:<hex>" of the canonical JSON of the plan body. */
export function planDigestOf(plan: Plan): string {
  return sha256Digest(canonicalJson(planBodyOf(plan)));
}

/** The plan file object for a plan: body, meta and the digest that pins the body. */
export function toPlanFile(plan: Plan, meta: PlanFileMeta): PlanFile {
  return {
    ...planBodyOf(plan),
    createdAt: meta.createdAt,
    leapfrogVersion: meta.leapfrogVersion,
    planDigest: planDigestOf(plan),
  };
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
    throw new InvalidPlanFileError(
      `cannot read plan file ${path}${code === 'ENOENT' ? ': it does not exist' : `: ${code ?? String(error)}`}`,
      {
        hint: `write one with: ${nextCommand('plan', '--from', '<release>', '--to', '<release>', '--out', path)}`,
        cause: error,
        plan: path,
      },
    );
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidPlanFileError(`plan file ${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `write it again with: ${nextCommand('plan', '--from', '<release>', '--to', '<release>', '--out', path)}`,
      cause: error,
      plan: path,
    });
  }

  const hint = replanHint(raw, path);
  if (raw !== null && typeof raw === 'object' && 'planVersion' in raw && raw.planVersion !== 1) {
    throw new StalePlanFileError(
      `plan file ${path} has planVersion ${JSON.stringify(raw.planVersion)}; this leapfrog reads planVersion 1`,
      {
        hint,
        plan: path,
        staleness: { kind: 'plan-version', planVersion: raw.planVersion },
      },
    );
  }

  // zod (and the schema) load only when a plan file is actually read: `apply --to` never pays for them.
  const { planFileSchema, formatPath } = await import('./plan-file-schema.js');
  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => {
      const where =
        issue.code === 'unrecognized_keys' ? formatPath([...issue.path, issue.keys[0] ?? '']) : formatPath(issue.path);
      const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
      return `${where || '(file)'}: ${message}`;
    });
    throw new InvalidPlanFileError(
      `plan file ${path} is not a valid plan:\n${fields.map((f) => `  ${f}`).join('\n')}`,
      {
        hint,
        plan: path,
        problems: fields,
      },
    );
  }

  const file = parsed.data as PlanFile;
  const digest = planDigestOf(file);
  if (digest !== file.planDigest) {
    throw new StalePlanFileError(
      `plan file ${path} was changed after it was written: its planDigest does not match its steps`,
      {
        hint,
        plan: path,
        staleness: { kind: 'edited', expected: file.planDigest, actual: digest },
      },
    );
  }
  return file;
}

/** "leapfrog plan --from X --to Y --out FILE", with the ids taken from the plan when it has them. */
export function replanHint(plan: unknown, path: string): string {
  const id = (field: 'from' | 'to'): string => {
    if (plan !== null && typeof plan === 'object' && field in plan) {
      const ref = (plan as Record<string, unknown>)[field];
      if (ref !== null && typeof ref === 'object' && 'release' in ref && typeof ref.release === 'string')
        return ref.release;
    }
    return '<release>';
  };
  return `plan again with: ${nextCommand('plan', '--from', id('from'), '--to', id('to'), '--out', path)}`;
}
