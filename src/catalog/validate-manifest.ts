import { LineCounter, parseDocument } from 'yaml';
import { manifestIssues, type Manifest, type ManifestProblem } from './manifest-schema.js';

/**
 * The cache-miss path of loadCatalog: YAML text -> validated manifest, or every problem with its
 * field path. This module is the only one that pulls in yaml and zod (together ~145 ms of CPU
 * at a cold start), so load-catalog.ts imports it only when a manifest is not in the cache.
 */

/** `catalog.yaml`'s defaults, as raw YAML values: merged under each release before validation. */
export type CatalogDefaults = Readonly<Record<string, unknown>>;

/** Where a problem of a merged manifest came from: the release's own file or catalog.yaml's defaults. */
export type ProblemOrigin = 'release' | 'defaults';

export type OriginProblem = ManifestProblem & { origin: ProblemOrigin };

/** Keys only a release.yaml may give: a default id or version would make every release the same. */
const RELEASE_ONLY = ['release', 'version'] as const;

export function validateManifest(
  text: string,
  defaults: CatalogDefaults = {},
): { manifest: Manifest; problems: [] } | { manifest: undefined; problems: OriginProblem[] } {
  const parsed = parseYaml(text);
  if ('problems' in parsed) return { manifest: undefined, problems: parsed.problems.map(fromRelease) };
  const own = parsed.value;
  if (!isMapping(own)) {
    return {
      manifest: undefined,
      problems: [
        { path: '', message: 'expected a mapping of release fields (release, image, phases, …)', origin: 'release' },
      ],
    };
  }
  const result = manifestIssues(mergeDefaults(defaults, own));
  if (result.manifest !== undefined) return { manifest: result.manifest, problems: [] };
  return {
    manifest: undefined,
    problems: result.issues.map(({ keys, path, message }) => ({
      path,
      message,
      origin: originOf(keys, own, defaults),
    })),
  };
}

/**
 * Parses `catalog.yaml`. `defaults` is undefined when the file is unusable (not YAML, or no
 * mapping where one is needed): the releases then cannot be validated fairly, since every field
 * they leave to the defaults would be reported missing. Smaller problems (an unknown top-level
 * key, `release` under defaults) are reported and the rest of the defaults still apply.
 */
export function parseCatalogFile(text: string): { defaults: CatalogDefaults | undefined; problems: ManifestProblem[] } {
  const parsed = parseYaml(text);
  if ('problems' in parsed) return { defaults: undefined, problems: parsed.problems };
  const file = parsed.value;
  if (file === null || file === undefined) return { defaults: {}, problems: [] }; // an empty file
  if (!isMapping(file)) {
    return {
      defaults: undefined,
      problems: [{ path: '', message: 'expected a mapping, e.g. defaults: { timeouts: { check: 2m } }' }],
    };
  }
  const problems: ManifestProblem[] = [];
  for (const key of Object.keys(file)) {
    if (key !== 'defaults') problems.push({ path: key, message: 'unknown key (catalog.yaml holds only defaults)' });
  }
  const raw = file['defaults'];
  if (raw === undefined || raw === null) return { defaults: {}, problems };
  if (!isMapping(raw)) {
    problems.push({
      path: 'defaults',
      message: 'expected a mapping of release.yaml fields merged under every release',
    });
    return { defaults: undefined, problems };
  }
  const defaults = Object.entries(raw).filter(([key]) => {
    if (!(RELEASE_ONLY as readonly string[]).includes(key)) return true;
    problems.push({ path: `defaults.${key}`, message: 'not allowed under defaults: each release.yaml names its own' });
    return false;
  });
  return { defaults: Object.fromEntries(defaults), problems };
}

/**
 * The release's fields over the defaults: mappings merge key by key (recursively), anything else
 * — lists included — is taken whole from the release when it gives it. A list merged item by item
 * would leave a default's third SQL check under a release that wrote two.
 */
export function mergeDefaults(
  defaults: CatalogDefaults,
  own: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  // A Map and fromEntries, not assignment: a YAML key `__proto__` must stay a key (and be reported
  // as unknown), not become the merged object's prototype.
  const merged = new Map(Object.entries(defaults));
  for (const [key, value] of Object.entries(own)) {
    const under = merged.get(key);
    merged.set(key, isMapping(under) && isMapping(value) ? mergeDefaults(under, value) : value);
  }
  return Object.fromEntries(merged);
}

/**
 * Which file a problem at `keys` of the merged manifest belongs to: the one holding the deeper
 * part of that path. A tie goes to the release (its own value wins the merge, so it is what the
 * engineer edits); a path neither holds (a required field) belongs to the release too.
 */
function originOf(keys: readonly PropertyKey[], own: unknown, defaults: unknown): ProblemOrigin {
  return depthIn(defaults, keys) > depthIn(own, keys) ? 'defaults' : 'release';
}

function depthIn(value: unknown, keys: readonly PropertyKey[]): number {
  let depth = 0;
  let at = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object') break;
    const next = (at as Record<PropertyKey, unknown>)[key];
    if (next === undefined) break;
    at = next;
    depth++;
  }
  return depth;
}

function parseYaml(text: string): { value: unknown } | { problems: ManifestProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length === 0) return { value: document.toJS() as unknown };
  return {
    problems: document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      const where = `line ${at.line}, column ${at.col}: `;
      return { path: '', message: `not valid YAML: ${where}${error.message.split('\n')[0] ?? ''}` };
    }),
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fromRelease(problem: ManifestProblem): OriginProblem {
  return { ...problem, origin: 'release' };
}
