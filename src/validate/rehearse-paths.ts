import { randomBytes } from 'node:crypto';
import pg from 'pg';
import semver from 'semver';
import type { Catalog, Release } from '../catalog/release.js';
import { seedDemoDatabase, SEED_RELEASE } from '../demo/seed.js';
import { BadInputError, DriftError, LeapfrogError } from '../errors/index.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import { databaseTargetFromUrl, type DatabaseTarget } from '../pg/database-target.js';
import { startEmbeddedServer } from '../pg/embedded-server.js';
import { planPath } from '../planner/plan-path.js';
import { installFresh } from '../rehearse/fresh-install.js';
import { commandText, toolchainState } from '../toolchains/toolchain-state.js';
import { baseline } from '../upgrade/baseline.js';
import { runUpgrade, type PhaseSummary, type RunSummary } from '../upgrade/run-upgrade.js';
import { formatDuration } from '../util/duration.js';
import { nextCommand } from '../util/next-command.js';
import { redact } from '../util/redact.js';
import type { ValidationCase } from './validation-case.js';

export interface PathRehearsalSummary {
  from: string;
  to: string;
  path: string[];
  ok: boolean;
  durationMs: number;
  rowsMigrated: number;
  /** The run's phases without their check details (the JUnit report keeps it short). */
  phases: Omit<PhaseSummary, 'checks'>[];
  error: string | null;
}

export interface PathRehearsal {
  ok: boolean;
  summary: PathRehearsalSummary;
  case: ValidationCase;
}

export interface RehearsePathsOptions {
  /** Demo rows to seed (the demo catalog only; a catalog with `fresh` seeds with `fresh.seed`). */
  rows: number;
  /** Aborts the path being rehearsed (the CLI's Ctrl-C). */
  signal?: AbortSignal;
  onProgress?: ((line: string) => void) | undefined;
}

/**
 * One path to prove: a scratch database is brought to `from` by `setup` (not measured), then
 * upgraded from -> to through the same pipeline as `apply`.
 */
interface PathToRehearse {
  from: Release;
  to: Release;
  /** What setup does, for the progress line ("installing 0.11.4 fresh, walking to 0.13.0"). */
  describe: string;
  setup: (target: DatabaseTarget, apply: (to: string) => Promise<RunSummary>) => Promise<void>;
}

const silent = { out: () => undefined, err: () => undefined, isTTY: false };
const LEDGER_SCHEMA = 'leapfrog';
const LOCK_TIMEOUT_MS = 10_000;

/**
 * Proves every supported path for real: one embedded PostgreSQL server, and for each supported
 * from-release a scratch database brought to `from` (setup, not measured), then upgraded to the
 * newest release it can reach with the same runner and process executor as `apply`. Each path
 * is one JUnit case.
 *
 * How a scratch database gets to `from` is the catalog's to say: a catalog whose releases have
 * `fresh` installs its source release fresh (the oldest, or the entry release that starts the
 * lineage), seeds sample data, baselines it there and applies to `from`; the demo catalog
 * (no `fresh`) seeds its demo orders at 2023.1 as before.
 */
export async function rehearsePaths(catalog: Catalog, options: RehearsePathsOptions): Promise<PathRehearsal[]> {
  const paths = catalog.releases.some((r) => r.fresh !== undefined)
    ? freshPaths(catalog, options)
    : demoPaths(catalog, options);
  if (paths.length === 0) return [];
  await using server = await startEmbeddedServer();
  const results: PathRehearsal[] = [];
  for (const path of paths) {
    const name = `rehearse_${path.from.id.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(3).toString('hex')}`.toLowerCase();
    await adminQuery(server.adminUrl, `CREATE DATABASE "${name}"`);
    try {
      results.push(await rehearseOne(catalog, path, databaseTargetFromUrl(server.urlFor(name)), options));
    } finally {
      await adminQuery(server.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }
  return results;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(sql).finally(() => admin.end());
}

/**
 * The demo catalog: every supported from-release at or after the seed release, to the newest,
 * on a database seeded with `--rows` demo orders at 2023.1 and brought to `from` by applying.
 */
function demoPaths(catalog: Catalog, options: RehearsePathsOptions): PathToRehearse[] {
  const seed = catalog.releases.find((r) => r.id === SEED_RELEASE);
  if (seed === undefined) throw noFreshError(catalog, null);
  const supported = catalog.releases.filter((r) => !r.yanked);
  const latest = supported[supported.length - 1];
  if (latest === undefined) return [];
  return supported
    .filter((r) => r !== latest && semver.gte(r.version, seed.version))
    .map((from) => ({
      from,
      to: latest,
      describe: `seeding ${options.rows} rows at ${seed.id}${from === seed ? '' : `, applying to ${from.id}`}`,
      setup: async (target, apply) => {
        // A catalog that merely has a release called 2023.1 is not the demo application: its
        // schema has no demo tables to seed, which is the catalog's missing `fresh`, not a bug.
        await seedDemoDatabase(target.url, { rows: options.rows, catalogDir: catalog.dir }).catch((error: unknown) => {
          if (error instanceof LeapfrogError) throw error;
          throw noFreshError(catalog, error);
        });
        const ledger = await openPostgresLedger(target, { schema: LEDGER_SCHEMA, migrate: true });
        if (ledger !== null) {
          await using opened = ledger;
          await opened.setCurrentRelease({ release: seed.id, version: seed.version });
        }
        if (from !== seed) await apply(from.id);
      },
    }));
}

/**
 * The catalog cannot be rehearsed at all (bad input, exit 2), as opposed to one path that failed:
 * it stops the whole rehearsal instead of being reported per path.
 */
export class CatalogNotRehearsableError extends BadInputError {}

/** A catalog that does not say how to install its releases fresh, and is not the demo either. */
function noFreshError(catalog: Catalog, demoSeedFailure: unknown): CatalogNotRehearsableError {
  const oldest = catalog.releases[0];
  const why =
    demoSeedFailure === null
      ? ''
      : ` (the demo seed at ${SEED_RELEASE} does not fit it: ${demoSeedFailure instanceof Error ? demoSeedFailure.message : 'it failed'})`;
  return new CatalogNotRehearsableError(
    `validate --rehearse does not know how to install ${catalog.dir}'s releases into an empty database: no release has \`fresh\`${why}`,
    {
      hint: `add \`fresh: { run: [<your install command>], seed: [<a command that adds sample data>] }\` to ${oldest === undefined ? 'the oldest release' : oldest.file} and to every entry release (\`upgradeFrom: none\`), or once under \`defaults\` in catalog.yaml (docs/validate.md, "--rehearse"); then \`${nextCommand('validate', '--rehearse')}\``,
      details: { field: 'fresh' },
    },
  );
}

/** True when the planner finds a path from -> to (the matrix's rule, without the reason). */
function reachable(catalog: Catalog, from: Release, to: Release): boolean {
  try {
    planPath(catalog, from.id, to.id);
    return true;
  } catch (error) {
    if (error instanceof LeapfrogError) return false;
    throw error;
  }
}

/**
 * A catalog that says how to install its releases fresh: the matrix sources are the oldest
 * supported release and every entry release (`upgradeFrom: none`, a new lineage). Every
 * supported release is a from-release, its target the newest release it can reach (an entry
 * release ends the lineage before it), and its database starts at the newest source that can
 * reach it: installed fresh there, seeded, baselined (the source's own check and appVersion
 * agree), then applied to `from`.
 */
function freshPaths(catalog: Catalog, options: RehearsePathsOptions): PathToRehearse[] {
  const supported = catalog.releases.filter((r) => !r.yanked);
  const sources = supported.filter((r, i) => i === 0 || r.entry);
  const missing = sources.filter((r) => r.fresh === undefined);
  if (missing.length > 0) {
    throw new BadInputError(
      `validate --rehearse installs every matrix source fresh, and ${missing.map((r) => `${r.file}: fresh`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (${missing.map((r) => `${r.id} is ${r.entry ? 'an entry release' : 'the oldest release'}`).join('; ')})`,
      {
        hint: `add \`fresh: { run: [<install command>], seed: [<sample data command>] }\` there (or under \`defaults\` in catalog.yaml), then \`${nextCommand('validate', '--rehearse')}\``,
        details: { field: 'fresh', releases: missing.map((r) => r.id) },
      },
    );
  }
  assertToolchains(supported);
  const paths: PathToRehearse[] = [];
  for (const from of supported) {
    const to = [...supported].reverse().find((r) => semver.gt(r.version, from.version) && reachable(catalog, from, r));
    if (to === undefined) continue;
    const source = [...sources]
      .reverse()
      .find((s) => s === from || (semver.lt(s.version, from.version) && reachable(catalog, s, from)));
    // validate's graph checks report a release no source reaches; here it is a failed path.
    const start = source ?? from;
    paths.push({
      from,
      to,
      describe: `installing ${start.id} fresh${start === from ? '' : `, applying to ${from.id}`}`,
      setup: async (target, apply) => {
        if (start.fresh === undefined) {
          throw new BadInputError(`no matrix source reaches ${from.id}, and ${from.file} has no fresh to install it`, {
            hint: `\`${nextCommand('validate', '--matrix')}\` shows which paths exist`,
          });
        }
        await installFresh(start, target, { signal: options.signal });
        await baseline({
          release: start.id,
          catalogDir: catalog.dir,
          target,
          ledgerSchema: LEDGER_SCHEMA,
          lockTimeoutMs: LOCK_TIMEOUT_MS,
          verify: true,
          force: false,
          executorKind: 'process',
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        if (start !== from) await apply(from.id);
      },
    });
  }
  return paths;
}

/**
 * Every supported release may run a command (fresh install, setup, the rehearsed path), all with
 * the process executor: refuse before a server starts when a toolchain is missing (exit 2) or
 * was installed for another manifest (exit 6), as `apply` would for its own path.
 */
function assertToolchains(releases: readonly Release[]): void {
  const states = releases.map(toolchainState);
  const missing = states.filter((s) => s.state === 'missing');
  const stale = states.filter((s) => s.state === 'stale');
  if (missing.length === 0 && stale.length === 0) return;
  const ids = [...missing, ...stale].map((s) => s.release);
  const hint = `\`${ids.length === 1 ? nextCommand('toolchains install', '--release', ids[0] ?? '') : nextCommand('toolchains install')}\`, then \`${nextCommand('validate', '--rehearse')}\``;
  const describe = (list: typeof states) =>
    list.map((s) => `${s.release} (local.install: ${commandText(s.install ?? [])})`).join(', ');
  const details = { missing: missing.map((s) => s.release), stale: stale.map((s) => s.release) };
  if (missing.length > 0) {
    throw new BadInputError(
      `validate --rehearse runs every release's commands, and the toolchain of ${describe(missing)} is not installed; nothing ran`,
      { hint, details },
    );
  }
  throw new DriftError(
    `validate --rehearse runs every release's commands, and the toolchain of ${describe(stale)} was installed for another version of its manifest; nothing ran`,
    { hint: `re-install: ${hint}`, details },
  );
}

async function rehearseOne(
  catalog: Catalog,
  path: PathToRehearse,
  target: DatabaseTarget,
  options: RehearsePathsOptions,
): Promise<PathRehearsal> {
  const { from, to } = path;
  const base = {
    catalogDir: catalog.dir,
    target,
    ledgerSchema: LEDGER_SCHEMA,
    executorKind: 'process' as const,
    mode: 'apply' as const,
    output: 'text' as const,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    sink: silent,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    rerunCommand: nextCommand('validate', '--rehearse'),
  };
  // The same pipeline as `apply`; a run that stopped is a failed path, with its typed error.
  const apply = async (release: string): Promise<RunSummary> => {
    const ran = await runUpgrade({ ...base, to: release });
    if (ran.result.error !== undefined) throw ran.result.error;
    return ran;
  };
  const started = performance.now();
  let summary: RunSummary | null = null;
  let error: string | null = null;
  try {
    options.onProgress?.(`rehearsing ${from.id} -> ${to.id}: ${path.describe}`);
    await path.setup(target, apply);
    const measured = performance.now();
    summary = await apply(to.id);
    summary = { ...summary, durationMs: performance.now() - measured };
  } catch (caught) {
    if (!(caught instanceof LeapfrogError) || caught instanceof CatalogNotRehearsableError) throw caught;
    error = redact(`${caught.message} (next: ${caught.hint})`, target.secrets);
  }
  const ok = error === null && summary?.finalRelease.release === to.id;
  const result: PathRehearsalSummary = {
    from: from.id,
    to: to.id,
    path: summary ? [...summary.path] : [],
    ok,
    durationMs: summary?.durationMs ?? performance.now() - started,
    rowsMigrated: summary?.rowsMigrated ?? 0,
    phases:
      summary?.phases.map((p) => ({
        release: p.release,
        phase: p.phase,
        name: p.name,
        status: p.status,
        durationMs: p.durationMs,
        rowsMigrated: p.rowsMigrated,
      })) ?? [],
    error: ok ? null : (error ?? `ended at ${summary?.finalRelease.release ?? '?'}, not ${to.id}`),
  };
  options.onProgress?.(`${ok ? 'ok  ' : 'FAIL'} ${from.id} -> ${to.id} in ${formatDuration(result.durationMs)}`);
  return {
    ok,
    summary: result,
    case: {
      check: 'rehearse',
      name: `${from.id} -> ${to.id}`,
      failures: ok ? [] : [result.error ?? 'failed'],
      timeMs: result.durationMs,
      output: result.phases
        .map(
          (p) =>
            `${p.release} ${p.phase} ${p.name}: ${p.status} ${formatDuration(p.durationMs)}${p.rowsMigrated ? ` ${p.rowsMigrated} rows` : ''}`,
        )
        .join('\n'),
    },
  };
}
