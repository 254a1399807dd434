import semver from 'semver';
import { parseDuration } from '../util/duration.js';
import type { CatalogProblem } from './catalog-error.js';
import type { Manifest } from './manifest-schema.js';
import {
  EMPTY_RANGE,
  type Catalog,
  type CheckCommand,
  type DataCommand,
  type ExitCodeMap,
  type PhaseTimeouts,
  type Release,
} from './release.js';
import { sha256Digest } from './digest.js';

/** One validated manifest, before catalog-wide rules and defaults are applied. */
export interface ManifestEntry {
  manifest: Manifest;
  /** release.yaml as shown in messages. */
  file: string;
  /** Absolute release folder. */
  dir: string;
  manifestDigest: string;
}

export const DEFAULT_TIMEOUTS: PhaseTimeouts = {
  preflight: 10 * 60_000,
  schema: 30 * 60_000,
  data: 6 * 3_600_000,
  check: 10 * 60_000,
};

/** "sha256" over the ordered manifest digests: any manifest added, removed or edited changes it. */
export function catalogDigestOf(releases: readonly Pick<Release, 'manifestDigest'>[]): string {
  return sha256Digest(releases.map((r) => r.manifestDigest).join('\n'));
}

/**
 * Catalog-wide rules over individually valid manifests: unique ids and versions, semver order,
 * the default upgradeFrom (exactly the previous release), and ranges that admit no older release.
 * Returns every problem rather than stopping at the first.
 */
export function buildCatalog(
  dir: string,
  entries: readonly ManifestEntry[],
): { catalog: Catalog; problems: CatalogProblem[] } {
  const problems: CatalogProblem[] = [];
  const versioned: { entry: ManifestEntry; version: string }[] = [];
  for (const entry of entries) {
    const { manifest, file } = entry;
    const version =
      manifest.version !== undefined
        ? semver.valid(manifest.version)
        : (semver.coerce(manifest.release)?.version ?? null);
    if (version === null) {
      problems.push({
        file,
        path: 'release',
        message: `"${manifest.release}" is not a version; add version: "<major.minor.patch>"`,
      });
      continue;
    }
    versioned.push({ entry, version });
  }

  const byId = new Map<string, string>();
  const byVersion = new Map<string, string>();
  for (const { entry, version } of versioned) {
    const { file, manifest } = entry;
    const sameId = byId.get(manifest.release);
    if (sameId !== undefined)
      problems.push({ file, path: 'release', message: `duplicate release "${manifest.release}" (also in ${sameId})` });
    else byId.set(manifest.release, file);
    // Build metadata does not order versions, so 1.0.0+a and 1.0.0+b are the same version.
    const key = semver.parse(version)?.format() ?? version;
    const sameVersion = byVersion.get(key);
    if (sameVersion !== undefined)
      problems.push({
        file,
        path: manifest.version === undefined ? 'release' : 'version',
        message: `duplicate version ${version} (also in ${sameVersion})`,
      });
    else byVersion.set(key, file);
  }

  // Parse once: semver.compare on strings would parse both sides on every comparison.
  const parsedVersions = new Map(versioned.map((v) => [v, new semver.SemVer(v.version)]));
  const parsedOf = (v: (typeof versioned)[number]) => parsedVersions.get(v) as semver.SemVer;
  versioned.sort(
    (a, b) => parsedOf(a).compare(parsedOf(b)) || a.entry.manifest.release.localeCompare(b.entry.manifest.release),
  );

  const releases: Release[] = versioned.map(({ entry, version }, index) => {
    const { manifest } = entry;
    const previous = index > 0 ? versioned[index - 1] : undefined;
    const isEntry = manifest.upgradeFrom === 'none';
    // The oldest release is where databases enter the catalog (`leapfrog baseline`): nothing in
    // the catalog precedes it, so its default accepts any older version.
    const upgradeFrom = isEntry ? EMPTY_RANGE : (manifest.upgradeFrom ?? (previous ? previous.version : `<${version}`));
    const timeouts = manifest.timeouts;
    const ms = (value: string | number | undefined, fallback: number) =>
      value === undefined ? fallback : (parseDuration(String(value)) ?? fallback);
    return {
      id: manifest.release,
      version,
      ...(manifest.image === undefined ? {} : { image: manifest.image }),
      ...(manifest.build ? { build: manifest.build } : {}),
      ...(manifest.local ? { local: manifest.local } : {}),
      upgradeFrom,
      upgradeFromIsDefault: manifest.upgradeFrom === undefined,
      entry: isEntry,
      milestone: manifest.milestone,
      yanked: manifest.yanked,
      env: manifest.env,
      ...(manifest.databaseUrlEnv === undefined ? {} : { databaseUrlEnv: manifest.databaseUrlEnv }),
      ...(manifest.appVersion ? { appVersion: manifest.appVersion } : {}),
      ...(manifest.fresh ? { fresh: manifest.fresh } : {}),
      phases: {
        ...(manifest.phases.preflight ? { preflight: checkPhase(manifest.phases.preflight) } : {}),
        schema: manifest.phases.schema.map((command) => ({
          ...command,
          // The schema's superRefine refuses any other named protocol for a schema command.
          protocol: typeof command.protocol === 'string' ? ('exit0' as const) : exitCodeMap(command.protocol),
        })),
        ...(manifest.phases.data ? { data: dataPhase(manifest.phases.data, ms) } : {}),
        ...(manifest.phases.check ? { check: checkPhase(manifest.phases.check) } : {}),
      },
      timeoutsMs: {
        preflight: ms(timeouts.preflight, DEFAULT_TIMEOUTS.preflight),
        schema: ms(timeouts.schema, DEFAULT_TIMEOUTS.schema),
        data: ms(timeouts.data, DEFAULT_TIMEOUTS.data),
        check: ms(timeouts.check, DEFAULT_TIMEOUTS.check),
      },
      dir: entry.dir,
      file: entry.file,
      manifestDigest: entry.manifestDigest,
    };
  });

  // An explicit range that admits no older release makes the release unreachable from every
  // database; the oldest release is exempt because nothing in the catalog precedes it.
  releases.forEach((release, index) => {
    if (index === 0 || release.upgradeFromIsDefault || release.entry) return;
    // Scan backwards: ranges usually admit the recent releases, so this stops early.
    const range = new semver.Range(release.upgradeFrom);
    let admitsOlder = false;
    for (let i = index - 1; i >= 0 && !admitsOlder; i--) admitsOlder = range.test((releases[i] as Release).version);
    if (!admitsOlder) {
      const older = releases.slice(Math.max(0, index - 3), index).map((r) => r.version);
      problems.push({
        file: release.file,
        path: 'upgradeFrom',
        message: `"${release.upgradeFrom}" admits no older release in the catalog (the releases before it are …${older.join(', ')}), so no database could ever reach ${release.id}`,
      });
    }
  });

  return { catalog: { dir, releases, digest: catalogDigestOf(releases) }, problems };
}

type ManifestPhases = Manifest['phases'];
type ManifestProtocol = NonNullable<ManifestPhases['check']>['protocol'];

/** The schema keeps exit codes as YAML's string keys; the runner looks them up by number. */
function exitCodeMap(protocol: { exitCodes: Record<string, ExitCodeMap['exitCodes'][number]> }): ExitCodeMap {
  const exitCodes: Record<number, ExitCodeMap['exitCodes'][number]> = {};
  for (const [code, meaning] of Object.entries(protocol.exitCodes)) exitCodes[Number(code)] = meaning;
  return { exitCodes };
}

function checkProtocol(protocol: ManifestProtocol): CheckCommand['protocol'] {
  // The schema's superRefine refuses batches for one-shot phases before this is reached.
  if (typeof protocol === 'string') return protocol === 'exit0' ? 'exit0' : 'upgradecheck';
  return exitCodeMap(protocol);
}

function checkPhase(phase: NonNullable<ManifestPhases['check']>): CheckCommand {
  return {
    ...(phase.run === undefined ? {} : { run: phase.run }),
    protocol: checkProtocol(phase.protocol),
    env: phase.env,
    sql: phase.sql,
  };
}

function dataPhase(
  data: NonNullable<ManifestPhases['data']>,
  ms: (value: string | number | undefined, fallback: number) => number,
): DataCommand {
  return {
    ...(data.run === undefined ? {} : { run: data.run }),
    protocol: 'batches',
    batchSize: data.batchSize,
    stallAfter: data.stallAfter,
    env: data.env,
    ...(data.until === undefined ? {} : { until: { sql: data.until.sql, pollMs: ms(data.until.poll, 5_000) } }),
  };
}
