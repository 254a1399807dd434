import semver from 'semver';

/**
 * The series of a version is its major.minor: patch releases of one series are the same
 * release with fixes, so a stop resolves to the newest non-yanked patch of its series.
 */
export function seriesOf(version: string): string {
  const parsed = semver.parse(version);
  return parsed ? `${parsed.major}.${parsed.minor}` : version;
}
