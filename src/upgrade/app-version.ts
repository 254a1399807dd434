import type { Catalog, Release } from '../catalog/release.js';
import { readAppVersion, SqlProbeError, type SqlProbe } from '../checks/sql-probe.js';
import { BadInputError, DriftError } from '../errors/index.js';
import type { LedgerState } from '../ledger/ledger.js';
import type { LedgerSession } from '../ledger/open-ledger.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';

const log = logger('upgrade');

/**
 * How long the application's version query may take. It reads one row of the application's own
 * bookkeeping; anything slower is a database in trouble, and the answer is "cannot tell" (drift).
 */
export const APP_VERSION_TIMEOUT_MS = 10_000;

/** What one `appVersion.sql` returned on this database. */
export interface AppVersionReading {
  sql: string;
  /** The value as trimmed text; null when the query returned no row or NULL, or failed. */
  says: string | null;
  /** The database's error (a relation missing: the application is not installed), or null. */
  error: string | null;
}

/**
 * The application's version compared with the release the ledger records (the guard, `status`)
 * or the release `baseline` is asked to record.
 */
export interface AppVersionComparison {
  /** The release compared against. */
  release: string;
  sql: string;
  expected: string;
  says: string | null;
  error: string | null;
  /** Releases whose own appVersion query returns their `equals` here, ascending. */
  matches: string[];
  /**
   * The releases of a step out of `release` that the ledger records as started and not finished
   * (a failed or interrupted run): their schema commands may have run, so their value (or one in
   * between that no release claims) is what the application may say until the step is resumed.
   */
  unfinished: string[];
  drift: boolean;
}

/**
 * Runs each distinct query once (the releases of one application usually share it); `known`
 * readings are kept, not asked again.
 */
export async function readAppVersions(
  probe: SqlProbe,
  sqls: Iterable<string>,
  known: ReadonlyMap<string, AppVersionReading> = new Map(),
): Promise<Map<string, AppVersionReading>> {
  const readings = new Map<string, AppVersionReading>(known);
  for (const sql of sqls) {
    if (readings.has(sql)) continue;
    try {
      readings.set(sql, { sql, says: await readAppVersion(probe, sql, APP_VERSION_TIMEOUT_MS), error: null });
    } catch (error) {
      // A query the database refuses is an answer ("cannot tell"); anything else is a bug.
      if (!(error instanceof SqlProbeError)) throw error;
      log.debug(`appVersion query failed: ${error.message}`);
      readings.set(sql, { sql, says: null, error: error.message });
    }
  }
  return readings;
}

/** Releases whose own appVersion query returned their `equals`, in catalog (ascending) order. */
export function matchingReleases(catalog: Catalog, readings: ReadonlyMap<string, AppVersionReading>): Release[] {
  return catalog.releases.filter((r) => {
    if (r.appVersion === undefined) return false;
    const reading = readings.get(r.appVersion.sql);
    return reading !== undefined && reading.says !== null && reading.says === r.appVersion.equals;
  });
}

/**
 * Compares what the application says with `release`'s appVersion; null when the release declares
 * none. The other releases' queries run only on a mismatch (to name the release that matches), and
 * so does `unfinishedOrRead` when it is a function, so a database that agrees costs one query.
 */
export async function compareAppVersion(
  probe: SqlProbe,
  catalog: Catalog,
  release: Release,
  unfinishedOrRead: readonly string[] | (() => Promise<readonly string[]>) = [],
): Promise<AppVersionComparison | null> {
  const expected = release.appVersion;
  if (expected === undefined) return null;
  const own = await readAppVersions(probe, [expected.sql]);
  const reading = own.get(expected.sql) ?? { sql: expected.sql, says: null, error: null };
  const agrees = reading.error === null && reading.says === expected.equals;
  const readings = agrees
    ? own
    : await readAppVersions(
        probe,
        catalog.releases.flatMap((r) => (r.appVersion === undefined ? [] : [r.appVersion.sql])),
        own,
      );
  const matches = matchingReleases(catalog, readings).map((r) => r.id);
  // The ledger is asked about unfinished steps only when the application disagrees (rarely).
  const unfinished: readonly string[] =
    typeof unfinishedOrRead !== 'function' ? unfinishedOrRead : agrees ? [] : await unfinishedOrRead();
  // An unfinished step may have left the application at its target or between the two releases
  // (several schema commands, each a migration): only a value that belongs to other releases alone
  // is drift (a patch release sharing the target's value does not make it one).
  const allowed = new Set([release.id, ...unfinished]);
  const midStep =
    unfinished.length > 0 && reading.says !== null && (matches.length === 0 || matches.some((m) => allowed.has(m)));
  return {
    release: release.id,
    sql: expected.sql,
    expected: expected.equals,
    says: reading.says,
    error: reading.error,
    matches,
    unfinished: [...unfinished],
    drift: !agrees && !midStep,
  };
}

/**
 * The releases of a step out of the recorded release that the ledger shows as started since that
 * release was recorded: a run that failed or was interrupted mid-step (re-running resumes it).
 * A step that finished would have moved the recorded release, and a `baseline --force` back to an
 * older release makes the older steps' rows predate it. Read-only, on the ledger session before the
 * lock; a ledger too old to answer counts as none (the strict comparison then applies).
 */
export async function unfinishedSteps(session: LedgerSession, state: LedgerState): Promise<string[]> {
  try {
    const rows = await session.query<{ release: string }>(
      `SELECT DISTINCT release FROM "${session.schema}".phases WHERE from_release = $1 AND started_at >= $2`,
      [state.release, state.updatedAt],
    );
    return rows.map((r) => r.release);
  } catch (error) {
    log.suppressed('reading the unfinished steps for the appVersion comparison', error);
    return [];
  }
}

/** `"5"`, or why there is no value, for messages. */
export function describeSays(c: Pick<AppVersionReading, 'says' | 'error'>): string {
  if (c.error !== null) return `nothing: its version query failed (${c.error})`;
  if (c.says === null) return 'nothing: its version query returned no row';
  return `"${c.says}"`;
}

function listReleases(ids: readonly string[]): string {
  return ids.length === 1 ? `release ${ids[0] ?? ''}` : `releases ${ids.join(', ')}`;
}

/** "says "5"; that is the appVersion of release 2.0": the part of a drift message both refusals share. */
export function describeDrift(c: AppVersionComparison): string {
  const matching =
    c.matches.length > 0
      ? `that is the appVersion of ${listReleases(c.matches)}`
      : c.error !== null || c.says === null
        ? 'the application is not installed there, or its version cannot be read'
        : 'no release of the catalog has that appVersion';
  return `the application says ${describeSays(c)}; ${matching}`;
}

/**
 * The refusal when the application and the ledger disagree (exit 6): what the ledger records, what
 * the application says, and the release(s) that match it, with the way out for each case.
 */
export function appVersionDriftError(c: AppVersionComparison, database: string, file: string): DriftError {
  const message = `drift: the ledger of ${database} records release ${c.release} (appVersion "${c.expected}"), but ${describeDrift(c)}. Nothing was run or recorded`;
  const backups = `restore the backup taken before it moved (${nextCommand('backups')} lists them)`;
  const hint =
    c.matches.length === 1
      ? `the application moved without leapfrog (a newer version migrated itself on start?): find out what changed it. If the database really is at ${c.matches[0] ?? ''}, \`${nextCommand('baseline', '--detect', '--force')}\` records that once its check agrees; otherwise ${backups}`
      : c.matches.length > 1
        ? `the application moved without leapfrog: find out what changed it. If the database really is at one of ${c.matches.join(', ')}, \`${nextCommand('baseline', '--release', c.matches.at(-1) ?? '', '--force')}\` (or the one it is at) records it once its check agrees; otherwise ${backups}`
        : c.error !== null || c.says === null
          ? `check that this is the application's database and that appVersion.sql in ${file} reads its version; if the application's tables were lost, ${backups}`
          : `the application is at a version this catalog does not know: add its release to the catalog and run \`${nextCommand('baseline', '--detect', '--force')}\`, or ${backups}; \`${nextCommand('status')}\` shows what it says`;
  return new DriftError(message, {
    hint,
    details: {
      release: c.release,
      expected: c.expected,
      appVersion: c.says,
      error: c.error,
      matches: c.matches,
      unfinished: c.unfinished,
      database,
    },
  });
}

/**
 * `baseline --detect`: the one release whose appVersion the application says. Several releases
 * declaring the same value (patch releases without a schema change) are refused rather than
 * guessed (exit 2): they may differ in data migrations, and the operator knows which one was
 * deployed. No match is drift (exit 6), listing what the application says and the known values.
 */
export async function detectRelease(probe: SqlProbe, catalog: Catalog, database: string): Promise<Release> {
  const declaring = catalog.releases.filter((r) => r.appVersion !== undefined);
  if (declaring.length === 0) {
    throw new BadInputError(
      `baseline --detect: no release of the catalog ${catalog.dir} declares appVersion, so the application cannot say which release it is at`,
      {
        hint: `name the release: ${nextCommand('baseline', '--release', '<release>')}`,
        details: { catalog: catalog.dir },
      },
    );
  }
  const readings = await readAppVersions(
    probe,
    declaring.flatMap((r) => (r.appVersion === undefined ? [] : [r.appVersion.sql])),
  );
  const matches = matchingReleases(catalog, readings);
  const said = [...readings.values()];
  const saysText =
    said.length === 1 && said[0] !== undefined
      ? describeSays(said[0])
      : said.map((r) => `${describeSays(r)} (${r.sql})`).join('; ');
  const first = matches[0];
  if (matches.length === 1 && first !== undefined) return first;
  if (matches.length > 1) {
    const ids = matches.map((r) => r.id);
    throw new BadInputError(
      `baseline --detect: the application on ${database} says ${saysText}, which ${ids.join(', ')} all declare; leapfrog does not guess which of them was deployed`,
      {
        hint: `name it: \`${nextCommand('baseline', '--release', ids.at(-1) ?? '')}\` (or ${ids.slice(0, -1).join(', ')}); its check verifies it`,
        details: { appVersion: said.map((r) => ({ sql: r.sql, says: r.says, error: r.error })), matches: ids },
      },
    );
  }
  const known = declaring.map((r) => `${r.id} = "${r.appVersion?.equals ?? ''}"`).join(', ');
  throw new DriftError(
    `baseline --detect: no release of the catalog matches what the application on ${database} says: ${saysText}. Known: ${known}`,
    {
      hint: `if the application is installed here, its release is missing from the catalog (${nextCommand('releases')} lists it): add it, or name the release with \`${nextCommand('baseline', '--release', '<release>', '--force')}\` if you are sure`,
      details: {
        appVersion: said.map((r) => ({ sql: r.sql, says: r.says, error: r.error })),
        known: Object.fromEntries(declaring.map((r) => [r.id, r.appVersion?.equals ?? null])),
      },
    },
  );
}
