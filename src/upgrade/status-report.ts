import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog } from '../catalog/release.js';
import { LeapfrogError } from '../errors/index.js';
import type { PhaseRecord, RunRecord } from '../ledger/ledger.js';
import { describeHolder, type LockHolder } from '../ledger/ledger-lock.js';
import { LedgerSession } from '../ledger/open-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import type { Plan } from '../planner/plan.js';
import { pendingSteps } from '../runner/pending-steps.js';
import { NO_RECORDED_BACKUP, wayBackAfterRedCheck } from '../backup/forward-only.js';
import { nextCommand as leapfrogCommand } from '../util/next-command.js';
import {
  compareAppVersion,
  matchingReleases,
  readAppVersions,
  unfinishedSteps,
  type AppVersionComparison,
} from './app-version.js';

export interface StatusInput {
  target: DatabaseTarget;
  ledgerSchema: string;
  /** `--plan`: show progress through this plan. */
  plan?: string | undefined;
  /** `--catalog`: where the releases' appVersion queries come from; undefined: not compared. */
  catalogDir?: string | undefined;
}

/**
 * What the application says it is, beside the ledger's release (releases that declare appVersion).
 * Not baselined: `release` and `expected` are null and `matches` is what `baseline --detect` would see.
 */
export interface StatusAppVersion {
  release: string | null;
  expected: string | null;
  says: string | null;
  /** The version query's error (the application not installed), or null. */
  error: string | null;
  /** Releases whose appVersion the application says. */
  matches: string[];
  /** Releases of a step out of `release` the ledger records as unfinished (their value is no drift). */
  unfinished: string[];
  /** The application and the ledger disagree: step/apply/rehearse refuse with exit 6. */
  drift: boolean;
  /** Why nothing was compared (the catalog could not be read), or null. */
  problem: string | null;
}

export interface StatusReport {
  type: 'status';
  database: string;
  ledgerSchema: string;
  baselined: boolean;
  current: { release: string; version: string; since: string } | null;
  /** null when no release involved declares appVersion. */
  appVersion: StatusAppVersion | null;
  running: { host: string | null; pid: number | null; since: string | null; plan: string | null } | null;
  /**
   * `alive` is meaningful only for a run the ledger still records as running: true while a
   * process holds the lock, false when it died (kill -9, or a backup restored from mid-run) and
   * the next run will mark it interrupted and resume; null for finished runs.
   */
  lastRun: {
    id: string;
    mode: string;
    status: string;
    alive: boolean | null;
    from: string;
    to: string;
    startedAt: string;
    finishedAt: string | null;
  } | null;
  plan: { file: string; from: string; to: string; done: string[]; pending: string[]; problem: string | null } | null;
  lastFailure: {
    release: string;
    phase: string;
    name: string;
    status: string;
    exitCode: number | null;
    attempts: number;
    at: string | null;
    outputTail: string[];
    /** After a failed check (the database carries the release's schema): the pre-upgrade backup to restore. */
    wayBack: string | null;
  } | null;
  next: string;
}

/**
 * The status report: read-only, on ONE session: never creates the ledger and never takes the
 * lock, so it answers while a run is going and shows that run as the holder.
 */
export async function statusReport(input: StatusInput): Promise<StatusReport> {
  const { target } = input;
  const plan: Plan | null = input.plan === undefined ? null : await readPlanFile(input.plan);
  await using session = await LedgerSession.open(target, input.ledgerSchema);
  const schema = session.schema;
  const report: StatusReport = {
    type: 'status',
    database: target.display,
    ledgerSchema: schema,
    baselined: false,
    current: null,
    appVersion: null,
    running: null,
    lastRun: null,
    plan: null,
    lastFailure: null,
    next: '',
  };
  // Read before the ledger is handed out below: the probe and the ledger reads share the session.
  report.appVersion = await applicationSays(session, input.catalogDir);
  if (!session.reading.exists) {
    report.next =
      detectNext(report) ??
      `${leapfrogCommand('baseline', '--release', '<release>')} (the release the database is at${plan ? `; the plan starts at ${plan.from.release}` : ''})`;
    return report;
  }
  const holder: LockHolder = await session.withClient((client) => describeHolder(client, schema));
  const ledger = session.readOnly();
  if (ledger === null) throw new Error('statusReport: a ledger that exists has no reader');
  const current = session.reading.current;
  report.baselined = current !== null;
  if (current)
    report.current = { release: current.release, version: current.version, since: current.updatedAt.toISOString() };
  const lastRun: RunRecord | null = await ledger.lastRun();
  const failure: PhaseRecord | null = await ledger.lastFailedPhase();
  // A failed check ran after its hop's schema commands: the database is no longer at the
  // release it started from, so the backup is a way back beside "fix and re-run".
  let wayBack: string | null = null;
  if (failure?.phase === 'check' && failure.status === 'failed' && current !== null) {
    wayBack = wayBackAfterRedCheck(await ledger.backups(), current) ?? NO_RECORDED_BACKUP;
  }
  if (current && plan) {
    try {
      const pending = pendingSteps(plan, current).map((p) => p.step.release);
      report.plan = {
        file: input.plan ?? '',
        from: plan.from.release,
        to: plan.to.release,
        done: plan.steps.map((s) => s.release).filter((r) => !pending.includes(r)),
        pending,
        problem: null,
      };
    } catch (error) {
      report.plan = {
        file: input.plan ?? '',
        from: plan.from.release,
        to: plan.to.release,
        done: [],
        pending: [],
        problem: error instanceof LeapfrogError ? error.message : String(error),
      };
    }
  }
  if (holder.backendPid !== null) {
    report.running = {
      host: holder.host,
      pid: holder.pid,
      since: holder.since?.toISOString() ?? null,
      plan: holder.plan,
    };
  }
  if (lastRun) {
    report.lastRun = {
      id: lastRun.id,
      mode: lastRun.mode,
      status: lastRun.status,
      alive: lastRun.status === 'running' ? report.running !== null : null,
      from: lastRun.from.release,
      to: lastRun.to.release,
      startedAt: lastRun.startedAt.toISOString(),
      finishedAt: lastRun.finishedAt?.toISOString() ?? null,
    };
  }
  // A failure matters only while it is the latest word: a later successful run supersedes it.
  if (failure && lastRun && lastRun.status !== 'succeeded') {
    report.lastFailure = {
      release: failure.release,
      phase: failure.phase,
      name: failure.name,
      status: failure.status,
      exitCode: failure.exitCode,
      attempts: failure.attempts,
      at: failure.finishedAt?.toISOString() ?? null,
      outputTail: [...failure.outputTail],
      wayBack,
    };
  }
  report.next = nextCommand(report);
  return report;
}

/**
 * The application's own version beside the ledger's release (or, not baselined, the release it
 * matches). Read-only on the status session. A catalog that cannot be read does not fail
 * `status` (it answers without one); it is reported as the reason nothing was compared.
 */
async function applicationSays(
  session: LedgerSession,
  catalogDir: string | undefined,
): Promise<StatusAppVersion | null> {
  if (catalogDir === undefined) return null;
  const current = session.reading.current;
  let catalog: Catalog;
  try {
    catalog = await loadCatalog(catalogDir);
  } catch (error) {
    if (!(error instanceof LeapfrogError) || current === null) return null;
    return {
      release: current.release,
      expected: null,
      says: null,
      error: null,
      matches: [],
      unfinished: [],
      drift: false,
      problem: `not compared: the catalog ${catalogDir} cannot be read (${error.message.split('\n')[0] ?? ''})`,
    };
  }
  const probe = session.sqlProbe();
  if (current === null) {
    const sqls = catalog.releases.flatMap((r) => (r.appVersion === undefined ? [] : [r.appVersion.sql]));
    if (sqls.length === 0) return null;
    const readings = [...(await readAppVersions(probe, sqls)).values()];
    const said = readings.find((r) => r.says !== null);
    return {
      release: null,
      expected: null,
      says: said?.says ?? null,
      error: said === undefined ? (readings.find((r) => r.error !== null)?.error ?? null) : null,
      matches: matchingReleases(catalog, new Map(readings.map((r) => [r.sql, r]))).map((r) => r.id),
      unfinished: [],
      drift: false,
      problem: null,
    };
  }
  const recorded = catalog.releases.find((r) => r.id === current.release);
  if (recorded === undefined) return null;
  const comparison: AppVersionComparison | null = await compareAppVersion(probe, catalog, recorded, () =>
    unfinishedSteps(session, current),
  );
  if (comparison === null) return null;
  return {
    release: comparison.release,
    expected: comparison.expected,
    says: comparison.says,
    error: comparison.error,
    matches: comparison.matches,
    unfinished: comparison.unfinished,
    drift: comparison.drift,
    problem: null,
  };
}

/** Not baselined, and the application says which release it is at: `baseline --detect`. */
function detectNext(report: StatusReport): string | null {
  const matches = report.appVersion?.release === null ? report.appVersion.matches : [];
  if (matches.length !== 1) return null;
  return `${leapfrogCommand('baseline', '--detect')} (the application says it is at ${matches[0] ?? ''})`;
}

function nextCommand(report: StatusReport): string {
  if (!report.baselined)
    return (
      detectNext(report) ?? `${leapfrogCommand('baseline', '--release', '<release>')} (the release the database is at)`
    );
  if (report.appVersion?.drift === true) {
    const matches = report.appVersion.matches;
    return matches.length === 0
      ? `find out what changed the application (it says ${report.appVersion.says === null ? 'nothing' : `"${report.appVersion.says}"`}, which no release of the catalog declares); restore a backup (${leapfrogCommand('backups')}) or add its release to the catalog`
      : `find out what moved the application to ${matches.join(', ')}; if the database really is there, ${matches.length === 1 ? leapfrogCommand('baseline', '--detect', '--force') : leapfrogCommand('baseline', '--release', matches.at(-1) ?? '', '--force')}; otherwise restore a backup (${leapfrogCommand('backups')})`;
  }
  if (report.running) return `wait for the running run to finish (${leapfrogCommand('status')} again)`;
  if (report.plan) {
    if (report.plan.problem !== null)
      return `${leapfrogCommand('apply', '--to', report.plan.to)} (plans from the current release)`;
    if (report.plan.pending.length === 0) return `nothing: the plan's target ${report.plan.to} is reached`;
    return `${leapfrogCommand('apply', '--plan', report.plan.file)} (or ${leapfrogCommand('step', '--plan', report.plan.file)} for one release)`;
  }
  if (report.lastRun?.alive === false) {
    return `${leapfrogCommand('apply', '--to', report.lastRun.to)} (or step --plan <file>): the dead run is marked interrupted and its phase runs again`;
  }
  if (report.lastRun && report.lastRun.status !== 'succeeded') {
    const wayBack = report.lastFailure?.wayBack;
    const resume = `${leapfrogCommand('apply', '--to', report.lastRun.to)} (resumes at the first phase not recorded as succeeded)`;
    return wayBack ? `fix what the check reports, then ${resume}; ${wayBack}` : resume;
  }
  if (report.lastRun && report.current && report.lastRun.to !== report.current.release)
    return leapfrogCommand('apply', '--to', report.lastRun.to);
  // `plan` without --from starts where this database's ledger says it is (kubeadm's `upgrade plan`).
  return `${leapfrogCommand('plan', '--to', '<release>')} to go further (it starts from ${report.current?.release ?? 'the ledger'})`;
}
