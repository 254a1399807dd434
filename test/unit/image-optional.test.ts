import { describe, expect, it } from 'vitest';
import type { Catalog, Release } from '../../src/catalog/release.js';
import { BadInputError, ExitCode, LeapfrogError } from '../../src/errors/index.js';
import { imageBuildTargets } from '../../src/images/build-image.js';
import { planPath } from '../../src/planner/plan-path.js';
import { slurpCatalog } from '../helpers/catalog-builder.js';

// `image` is optional: only the docker executor and `images build` need one.

/** The SLURP catalog with these releases' images removed (as if their manifests named none). */
function withoutImages(ids: readonly string[]): Catalog {
  const catalog = slurpCatalog();
  const strip = (release: Release): Release => {
    if (!ids.includes(release.id)) return release;
    const { image: _image, ...rest } = release;
    return rest;
  };
  return { ...catalog, releases: catalog.releases.map(strip) };
}

function thrown(fn: () => unknown): LeapfrogError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LeapfrogError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('images build targets', () => {
  it('skips releases without an image and builds the rest', () => {
    const { targets, skipped } = imageBuildTargets(withoutImages(['2023.1', '2024.2']));
    expect(targets.map((r) => r.id)).toEqual(['2023.2', '2024.1', '2025.1']);
    expect(skipped.map((r) => r.id)).toEqual(['2023.1', '2024.2']);
  });

  it('refuses --release X when X names no image (exit 2, naming its file and field)', () => {
    const error = thrown(() => imageBuildTargets(withoutImages(['2024.2']), '2024.2'));
    expect(error).toBeInstanceOf(BadInputError);
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.message).toBe(
      'release 2024.2 has no image, which `leapfrog images build` needs (/catalog/2024.2/release.yaml: image)',
    );
    expect(error.hint).toContain('add image: "<repository>:2024.2" to /catalog/2024.2/release.yaml');
    expect(error.details).toMatchObject({ release: '2024.2', field: 'image' });
    expect(imageBuildTargets(withoutImages(['2024.2']), '2024.1').targets.map((r) => r.id)).toEqual(['2024.1']);
  });

  it('refuses a catalog where no release names an image: nothing to build', () => {
    const catalog = slurpCatalog();
    const error = thrown(() => imageBuildTargets(withoutImages(catalog.releases.map((r) => r.id))));
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.message).toContain('names an image: nothing to build');
    expect(error.hint).toContain('--executor process');
  });
});

describe('plans over releases without an image', () => {
  it('record image: null for them', () => {
    const plan = planPath(withoutImages(['2024.1']), '2023.1', '2024.2');
    expect(plan.steps.map((s) => [s.release, s.image])).toEqual([
      ['2024.1', null],
      ['2024.2', 'example/migrate:2024.2'],
    ]);
  });
});
