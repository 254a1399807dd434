import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatProblem, type CatalogProblem } from '../catalog/catalog-error.js';
import { formatPath } from '../catalog/manifest-schema.js';
import { BadInputError } from '../errors/index.js';
import { ledgerSchemaProblem } from '../ledger/ledger-schema-name.js';
import { nextCommand } from '../util/next-command.js';

/**
 * `fleet.yaml` (DESIGN.md "Fleets and deployments"): which databases a fleet command walks, with
 * which catalog, in which groups and order. This module is pure past reading the file: the
 * schema, the cross-field rules (duplicate names, dependsOn unknown or in a cycle) and the
 * assignment of targets to groups. URLs are resolved elsewhere (resolve-fleet.ts), because a
 * fleet file is shared and committed: it names WHERE a URL comes from, never the URL.
 */

/** A URL's source: an environment variable or a file holding it (a mounted secret). */
export type UrlSource = { env: string } | { file: string };

export interface FleetTargetSpec {
  name: string;
  /** Absolute: relative paths in the file are relative to the file's folder. */
  catalog: string;
  url: UrlSource;
  /** The target's own ledger schema (schema-per-tenant fleets); absent: the command's --ledger-schema. */
  ledgerSchema?: string | undefined;
}

export interface InventorySpec {
  /** Yields rows with `name` and `url` (and optionally `ledger_schema`), read through a cursor. */
  sql: string;
  url: UrlSource;
  catalog: string;
}

export type OnError = 'fail' | 'continue';

export interface FleetGroup {
  name: string;
  /** Target names or globs (`*`, `?`); a target belongs to the FIRST group whose match names it. */
  match: readonly string[];
  dependsOn: readonly string[];
  /** At most this many of the group's targets at a time. */
  parallel: number;
  onError: OnError;
}

export interface FleetFile {
  /** The file as shown to people (relative to the cwd when inside it). */
  file: string;
  targets: readonly FleetTargetSpec[];
  inventory: InventorySpec | null;
  /** In the file's order (a target's group is the first that matches it). */
  groups: readonly FleetGroup[];
  /** The same groups in run order: each after every group it depends on, the file's order otherwise. */
  runOrder: readonly FleetGroup[];
  lockstep: boolean;
}

export type FleetProblem = CatalogProblem;

/** Every problem of a fleet file (and of resolving its targets) at once; exit 2, nothing ran. */
export class FleetError extends BadInputError {
  readonly problems: readonly FleetProblem[];

  constructor(file: string, problems: readonly FleetProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`the fleet file ${file} has ${count}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
      hint: `fix the fleet file above, then check it with: ${nextCommand('plan', '--fleet', file)}`,
      details: { fleet: file, problems },
    });
    this.problems = problems;
  }
}

const INLINE_URL =
  'an inline URL is not allowed: fleet files are shared and committed, and a URL holds a password; use { env: VAR } or { file: PATH }';

/** A target's name: it names report files and folders too, so nothing that makes a path. */
export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const TARGET_NAME_RULE = 'letters, digits, ".", "_" and "-" only, starting with a letter or digit';

const name = z
  .string({ error: (issue) => (issue.input === undefined ? 'required' : 'expected a string') })
  .regex(TARGET_NAME, { error: TARGET_NAME_RULE });

const urlSource = z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })], {
  error: (issue) => (typeof issue.input === 'string' ? INLINE_URL : 'expected { env: VAR } or { file: PATH }'),
});

const ledgerSchema = z.string().superRefine((value, ctx) => {
  const problem = ledgerSchemaProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

const fleetSchema = z.strictObject({
  targets: z
    .array(
      z.strictObject({
        name,
        catalog: z.string().min(1),
        url: urlSource,
        ledgerSchema: ledgerSchema.optional(),
      }),
    )
    .default([]),
  inventory: z.strictObject({ sql: z.string().min(1), url: urlSource, catalog: z.string().min(1) }).optional(),
  groups: z
    .array(
      z.strictObject({
        name,
        match: z.array(z.string().min(1)).min(1, { error: 'at least one name or glob' }),
        dependsOn: z.array(z.string()).default([]),
        parallel: z.number().int().min(1).default(1),
        onError: z.enum(['fail', 'continue']).default('fail'),
      }),
    )
    .min(1, { error: 'at least one group' }),
  lockstep: z.boolean().default(false),
});

/** Reads and validates a fleet file; every problem at once (FleetError, exit 2). */
export async function readFleetFile(path: string): Promise<FleetFile> {
  const shown = showPath(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BadInputError(`cannot read the fleet file ${shown}: ${(error as NodeJS.ErrnoException).code ?? ''}`, {
      hint: 'pass --fleet PATH to a fleet.yaml (docs/fleets.md shows its fields)',
      cause: error,
    });
  }
  return parseFleetFile(text, shown, dirname(resolve(path)));
}

/** The pure part of readFleetFile: YAML text -> FleetFile, or FleetError with every problem. */
export function parseFleetFile(text: string, file: string, baseDir: string): FleetFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    throw new FleetError(
      file,
      document.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        return {
          file,
          path: '',
          message: `not valid YAML: line ${at.line}, column ${at.col}: ${error.message.split('\n')[0] ?? ''}`,
        };
      }),
    );
  }
  const parsed = fleetSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const problems: FleetProblem[] = [];
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          problems.push({ file, path: formatPath([...issue.path, key]), message: 'unknown key' });
      } else {
        problems.push({ file, path: formatPath(issue.path), message: issue.message });
      }
    }
    throw new FleetError(file, problems);
  }
  const raw = parsed.data;
  const problems: FleetProblem[] = [];
  const seen = new Map<string, number>();
  raw.targets.forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined)
      problems.push({ file, path: `targets[${i}].name`, message: `"${t.name}" is already targets[${first}]` });
    else seen.set(t.name, i);
  });
  if (raw.targets.length === 0 && raw.inventory === undefined) {
    problems.push({ file, path: 'targets', message: 'no targets: list targets, or give an inventory query' });
  }
  const runOrder = orderGroups(raw.groups, file, problems);
  if (problems.length > 0) throw new FleetError(file, problems);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    file,
    targets: raw.targets.map((t) => ({
      name: t.name,
      catalog: absolute(t.catalog),
      url: fileRelative(t.url, absolute),
      ledgerSchema: t.ledgerSchema,
    })),
    inventory:
      raw.inventory === undefined
        ? null
        : {
            sql: raw.inventory.sql,
            url: fileRelative(raw.inventory.url, absolute),
            catalog: absolute(raw.inventory.catalog),
          },
    groups: raw.groups,
    runOrder,
    lockstep: raw.lockstep,
  };
}

/**
 * The groups in the order they run: a group after every group it depends on, the file's order
 * otherwise (Kahn's algorithm, taking the earliest ready group each time). An unknown dependsOn
 * or a cycle is a problem naming the groups involved.
 */
function orderGroups(groups: readonly FleetGroup[], file: string, problems: FleetProblem[]): FleetGroup[] {
  const index = new Map<string, number>();
  groups.forEach((g, i) => {
    if (index.has(g.name))
      problems.push({
        file,
        path: `groups[${i}].name`,
        message: `"${g.name}" is already groups[${index.get(g.name)}]`,
      });
    else index.set(g.name, i);
  });
  groups.forEach((g, i) =>
    g.dependsOn.forEach((d, j) => {
      if (!index.has(d))
        problems.push({ file, path: `groups[${i}].dependsOn[${j}]`, message: `no group is named "${d}"` });
      if (d === g.name)
        problems.push({ file, path: `groups[${i}].dependsOn[${j}]`, message: 'a group cannot depend on itself' });
    }),
  );
  const ordered: FleetGroup[] = [];
  const done = new Set<string>();
  const remaining = [...groups];
  while (remaining.length > 0) {
    const at = remaining.findIndex((g) => g.dependsOn.every((d) => done.has(d) || !index.has(d) || d === g.name));
    if (at === -1) {
      problems.push({
        file,
        path: 'groups',
        message: `dependsOn forms a cycle: ${remaining.map((g) => `${g.name} -> ${g.dependsOn.join(', ')}`).join('; ')}`,
      });
      return ordered;
    }
    const [group] = remaining.splice(at, 1);
    if (group === undefined) break;
    ordered.push(group);
    done.add(group.name);
  }
  return ordered;
}

/** `*` any run of characters, `?` one; everything else literal. */
export function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(value);
}

/** The first group whose match names the target (by name or glob), or null. */
export function groupOf(groups: readonly FleetGroup[], target: string): FleetGroup | null {
  for (const group of groups) if (group.match.some((m) => globMatches(m, target))) return group;
  return null;
}

export function showPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function fileRelative(source: UrlSource, absolute: (p: string) => string): UrlSource {
  return 'file' in source ? { file: absolute(source.file) } : source;
}
