import semver from 'semver';
import { BadInputError } from '../errors/index.js';
import { nearestIds } from './nearest-ids.js';
import type { Catalog, Release } from './release.js';
import { nextCommand } from '../util/next-command.js';

/**
 * A release by its id ("2024.1") or its version ("2024.1.0", "v2024.1.0"); an unknown one is bad
 * input (exit 2) naming the nearest known ids.
 */
export function findRelease(catalog: Catalog, wanted: string): Release {
  const text = wanted.trim();
  const byId = catalog.releases.find((r) => r.id === text);
  if (byId) return byId;
  const version = semver.valid(text);
  if (version !== null) {
    const byVersion = catalog.releases.find((r) => semver.eq(r.version, version));
    if (byVersion) return byVersion;
  }
  const ids = catalog.releases.map((r) => r.id);
  const nearest = nearestIds(text, ids);
  throw new BadInputError(
    `unknown release "${wanted}"${nearest.length > 0 ? `; nearest known: ${nearest.join(', ')}` : ''}`,
    {
      hint: `list the releases of the catalog with: ${nextCommand('releases')}`,
      details: { release: wanted, nearest },
    },
  );
}

/**
 * The release's image, for the verbs that need one (the docker executor, `images build|list`):
 * `image` is optional in release.yaml because a process-executor catalog never builds one.
 */
export function releaseImage(release: Release, purpose: string, otherwise = 'or run with --executor process'): string {
  if (release.image !== undefined) return release.image;
  throw new BadInputError(`release ${release.id} has no image, which ${purpose} needs (${release.file}: image)`, {
    hint: `add image: "<repository>:${release.id}" to ${release.file} (or under defaults in catalog.yaml), ${otherwise}`,
    details: { release: release.id, file: release.file, field: 'image' },
  });
}
