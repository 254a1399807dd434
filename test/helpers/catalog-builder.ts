// In-memory catalogs for unit tests: each release goes through the real manifest schema and the
// real catalog rules (buildCatalog), so defaults (upgradeFrom = previous release, timeouts,
// batchSize) are exactly what loadCatalog would produce from release.yaml files.
import { buildCatalog, type ManifestEntry } from '../../src/catalog/build-catalog.js';
import { CatalogError } from '../../src/catalog/catalog-error.js';
import { sha256Digest } from '../../src/catalog/digest.js';
import { parseManifest } from '../../src/catalog/manifest-schema.js';
import type { Catalog } from '../../src/catalog/release.js';

/** Manifest fields as in release.yaml; `phases` defaults to one schema command. */
export interface ReleaseFields {
  version?: string;
  image?: string;
  upgradeFrom?: string;
  milestone?: boolean;
  yanked?: boolean;
  env?: Record<string, string>;
  phases?: Record<string, unknown>;
  timeouts?: Record<string, string | number>;
  build?: { context?: string; dockerfile?: string };
  local?: { path?: string[]; cwd?: string; install?: string[] };
  databaseUrlEnv?: string;
}

export class CatalogBuilder {
  readonly #entries: ManifestEntry[] = [];
  readonly #dir: string;

  constructor(dir = '/catalog') {
    this.#dir = dir;
  }

  /** Adds a release; releases may be added in any order (the catalog sorts by semver). */
  release(id: string, fields: ReleaseFields = {}): this {
    const raw = {
      release: id,
      image: fields.image ?? `example/migrate:${id}`,
      phases: fields.phases ?? { schema: [{ name: 'db', run: ['migrate', 'up'] }] },
      ...Object.fromEntries(
        Object.entries(fields).filter(([key, value]) => key !== 'image' && key !== 'phases' && value !== undefined),
      ),
    };
    const parsed = parseManifest(raw);
    if (parsed.manifest === undefined) {
      throw new Error(
        `test manifest ${id} is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      );
    }
    this.#entries.push({
      manifest: parsed.manifest,
      file: `${this.#dir}/${id}/release.yaml`,
      dir: `${this.#dir}/${id}`,
      manifestDigest: sha256Digest(JSON.stringify(raw)),
    });
    return this;
  }

  /** Adds several releases with the same fields. */
  releases(ids: readonly string[], fields: ReleaseFields = {}): this {
    for (const id of ids) this.release(id, fields);
    return this;
  }

  /** The catalog, or the CatalogError that loadCatalog would throw for the same manifests. */
  build(): Catalog {
    const { catalog, problems } = buildCatalog(this.#dir, this.#entries);
    if (problems.length > 0) throw new CatalogError(this.#dir, problems);
    return catalog;
  }
}

export function catalogBuilder(dir?: string): CatalogBuilder {
  return new CatalogBuilder(dir);
}

/**
 * The OpenStack cadence of the demo: 2023.1, 2023.2, 2024.1, 2024.2, 2025.1; the .1 releases
 * are milestones (SLURP) that accept the previous SLURP and the release between.
 */
export function slurpCatalog(): Catalog {
  return catalogBuilder()
    .release('2023.1', { milestone: true })
    .release('2023.2')
    .release('2024.1', { milestone: true, upgradeFrom: '>=2023.1.0 <2024.1.0' })
    .release('2024.2')
    .release('2025.1', { milestone: true, upgradeFrom: '>=2024.1.0 <2025.1.0' })
    .build();
}

/**
 * A generated catalog of `count` releases, one series each (ids "1000.1", "1000.2", "1001.1", …),
 * with a milestone every `milestoneEvery` releases. Each milestone accepts everything from the
 * previous milestone on (SLURP); the others default to the previous release.
 */
export function generatedCatalog(count: number, milestoneEvery = 3): Catalog {
  const builder = catalogBuilder('/generated');
  let previousMilestone: string | undefined;
  for (let i = 0; i < count; i++) {
    const id = generatedId(i);
    const version = `${id}.0`;
    const milestone = i % milestoneEvery === 0;
    const fields: ReleaseFields = { milestone };
    if (milestone && previousMilestone !== undefined) fields.upgradeFrom = `>=${previousMilestone} <${version}`;
    builder.release(id, fields);
    if (milestone) previousMilestone = version;
  }
  return builder.build();
}

export function generatedId(i: number): string {
  return `${1000 + Math.floor(i / 2)}.${(i % 2) + 1}`;
}
