import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { seedDemoDatabase, SEED_RELEASE } from '../demo/seed.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import { startEmbeddedServer } from '../pg/embedded-server.js';
import semver from 'semver';
import type { Catalog } from '../catalog/release.js';
import { BadInputError, LeapfrogError } from '../errors/index.js';
import { databaseTargetFromUrl } from '../pg/database-target.js';
import { redact } from '../util/redact.js';
import { formatDuration } from '../util/duration.js';
import type { ValidationCase } from './validation-case.js';
import { nextCommand } from '../util/next-command.js';
import { runUpgrade, type PhaseSummary, type RunSummary } from '../upgrade/run-upgrade.js';

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
  rows: number;
  /** Aborts the path being rehearsed (the CLI's Ctrl-C). */
  signal?: AbortSignal;
  onProgress?: ((line: string) => void) | undefined;
}

const silent = { out: () => undefined, err: () => undefined, isTTY: false };

/**
 * Proves every supported path for real: one embedded PostgreSQL server, and for each supported
 * from-release a fresh database seeded with the demo data at the seed release, brought to
 * `from` by applying (setup, not measured), then upgraded from -> newest with the same runner
 * and process executor as `apply`. Each path is one JUnit case.
 */
export async function rehearsePaths(catalog: Catalog, options: RehearsePathsOptions): Promise<PathRehearsal[]> {
  const seed = catalog.releases.find((r) => r.id === SEED_RELEASE);
  if (seed === undefined) {
    throw new BadInputError(
      `validate --rehearse seeds demo data at release ${SEED_RELEASE}, which ${catalog.dir} does not have`,
      {
        hint: 'run --rehearse on the demo catalog (release-images/), or prove your own catalog with `leapfrog rehearse --plan FILE --clone` on a copy of a real database',
      },
    );
  }
  const supported = catalog.releases.filter((r) => !r.yanked);
  const latest = supported[supported.length - 1];
  if (latest === undefined) return [];
  const froms = supported.filter((r) => r !== latest && semver.gte(r.version, seed.version));
  await using server = await startEmbeddedServer();
  const results: PathRehearsal[] = [];
  for (const from of froms) {
    const name = `rehearse_${from.id.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(3).toString('hex')}`.toLowerCase();
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const target = databaseTargetFromUrl(server.urlFor(name));
    const base = {
      catalogDir: catalog.dir,
      target,
      ledgerSchema: 'leapfrog',
      executorKind: 'process' as const,
      mode: 'apply' as const,
      output: 'text' as const,
      lockTimeoutMs: 10_000,
      sink: silent,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      rerunCommand: nextCommand('validate', '--rehearse'),
    };
    // The same pipeline as `apply`; a run that stopped is a failed path, with its typed error.
    const apply = async (to: string): Promise<RunSummary> => {
      const ran = await runUpgrade({ ...base, to });
      if (ran.result.error !== undefined) throw ran.result.error;
      return ran;
    };
    const started = performance.now();
    let summary: RunSummary | null = null;
    let error: string | null = null;
    try {
      options.onProgress?.(`rehearsing ${from.id} -> ${latest.id}: seeding ${options.rows} rows at ${seed.id}`);
      await seedDemoDatabase(target.url, { rows: options.rows, catalogDir: catalog.dir });
      const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
      if (ledger !== null) {
        await using opened = ledger;
        await opened.setCurrentRelease({ release: seed.id, version: seed.version });
      }
      if (from !== seed) await apply(from.id);
      const measured = performance.now();
      summary = await apply(latest.id);
      summary = { ...summary, durationMs: performance.now() - measured };
    } catch (caught) {
      if (!(caught instanceof LeapfrogError)) throw caught;
      error = redact(`${caught.message} (next: ${caught.hint})`, target.secrets);
    }
    const ok = error === null && summary?.finalRelease.release === latest.id;
    const result: PathRehearsalSummary = {
      from: from.id,
      to: latest.id,
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
      error: ok ? null : (error ?? `ended at ${summary?.finalRelease.release ?? '?'}, not ${latest.id}`),
    };
    options.onProgress?.(`${ok ? 'ok  ' : 'FAIL'} ${from.id} -> ${latest.id} in ${formatDuration(result.durationMs)}`);
    results.push({
      ok,
      summary: result,
      case: {
        check: 'rehearse',
        name: `${from.id} -> ${latest.id}`,
        failures: ok ? [] : [result.error ?? 'failed'],
        timeMs: result.durationMs,
        output: result.phases
          .map(
            (p) =>
              `${p.release} ${p.phase} ${p.name}: ${p.status} ${formatDuration(p.durationMs)}${p.rowsMigrated ? ` ${p.rowsMigrated} rows` : ''}`,
          )
          .join('\n'),
      },
    });
    const drop = new pg.Client({ connectionString: server.adminUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => drop.end());
  }
  return results;
}
