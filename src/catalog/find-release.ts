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
