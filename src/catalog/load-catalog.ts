import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { BadInputError } from '../errors/index.js';
import { buildCatalog, type ManifestEntry } from './build-catalog.js';
import { openManifestCache } from './catalog-cache.js';
import { CatalogError, type CatalogProblem } from './catalog-error.js';
import { manifestDigestOf } from './digest.js';
import type { Manifest } from './manifest-schema.js';
import type { Catalog } from './release.js';
import type * as Validation from './validate-manifest.js';

export const MANIFEST_FILE = 'release.yaml';
/** Catalog-wide settings beside the release folders: `defaults` merged under every release.yaml. */
export const CATALOG_FILE = 'catalog.yaml';

/** A path for messages: relative to the cwd when it lies below it, absolute otherwise. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Reads every `<dir>/<release>/release.yaml` into a validated, ordered catalog. Folders without
 * a release.yaml are ignored (they may hold shared sources). Every problem of every manifest is
 * collected and thrown at once as a CatalogError (exit 2). `<dir>/catalog.yaml`, when present,
 * holds defaults merged under every manifest; a problem is reported in the file that holds the
 * offending value. Manifests whose bytes (with catalog.yaml's) were validated before come from the
 * cache (catalog-cache.ts) without parsing or validating them again.
 */
export async function loadCatalog(dir: string): Promise<Catalog> {
  const root = resolve(dir);
  const shown = displayPath(root);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new BadInputError(`release catalog ${shown} ${info ? 'is not a directory' : 'does not exist'}`, {
      hint: 'run from the project folder that holds release-images/, or pass --catalog DIR (a folder of <release>/release.yaml)',
      details: { catalog: shown },
    });
  }

  const folders = (await readdir(root, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();

  const problems: CatalogProblem[] = [];
  const entries: ManifestEntry[] = [];
  const files = await Promise.all(
    folders.map(async (folder) => {
      const path = join(root, folder, MANIFEST_FILE);
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'EISDIR') return undefined;
        throw error;
      });
      return { folder, path, bytes };
    }),
  );

  const catalogPath = join(root, CATALOG_FILE);
  const catalogFile = displayPath(catalogPath);
  const catalogBytes = await readFile(catalogPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });

  const cache = await openManifestCache(root);
  const valid = new Map<string, Manifest>();
  // yaml and zod are ~145 ms of CPU at a cold start: loaded only when a manifest is not cached.
  // This is the one lazy import below the verbs, on purpose (issue 10's fixed-cost target).
  let validation: typeof Validation | undefined;
  // catalog.yaml is parsed once, on the first miss; undefined while unread, null when unusable.
  let defaults: Validation.CatalogDefaults | null | undefined;
  let catalogFileBroken = false;
  const seen = new Set<string>();
  const report = (problem: CatalogProblem) => {
    // A bad default fails every release it is merged under: reported once.
    const key = `${problem.file}\u0000${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(problem);
  };
  for (const { folder, path, bytes } of files) {
    if (bytes === undefined) continue;
    const file = displayPath(path);
    const manifestDigest = manifestDigestOf(bytes, catalogBytes);
    let manifest = cache.get(manifestDigest);
    if (manifest === undefined) {
      validation ??= await import('./validate-manifest.js');
      if (defaults === undefined) {
        const parsed =
          catalogBytes === undefined
            ? { defaults: {}, problems: [] }
            : validation.parseCatalogFile(catalogBytes.toString('utf8'));
        for (const problem of parsed.problems) report({ file: catalogFile, ...problem });
        catalogFileBroken = parsed.problems.length > 0;
        defaults = parsed.defaults ?? null;
      }
      // Without usable defaults, every field a release leaves to them would be reported missing.
      if (defaults === null) continue;
      const parsed = validation.validateManifest(bytes.toString('utf8'), defaults);
      if (parsed.manifest === undefined) {
        for (const { origin, path: field, message } of parsed.problems) {
          report(
            origin === 'defaults'
              ? { file: catalogFile, path: field === '' ? 'defaults' : `defaults.${field}`, message }
              : { file, path: field, message },
          );
        }
        continue;
      }
      manifest = parsed.manifest;
    }
    valid.set(manifestDigest, manifest);
    entries.push({ manifest, file, dir: join(root, folder), manifestDigest });
  }
  // A catalog.yaml problem is found only on a miss: caching its releases would hide it next time.
  if (!catalogFileBroken) await cache.save(valid);

  if (entries.length === 0 && problems.length === 0) {
    problems.push({
      file: shown,
      path: '',
      message: `no releases: expected folders with a ${MANIFEST_FILE} (e.g. ${shown}/2024.1/${MANIFEST_FILE})`,
    });
  }

  const { catalog, problems: catalogProblems } = buildCatalog(root, entries);
  problems.push(...catalogProblems);
  if (problems.length > 0) throw new CatalogError(shown, problems);
  return catalog;
}
