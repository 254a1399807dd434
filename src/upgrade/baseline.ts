import { randomUUID } from 'node:crypto';
import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog, Release } from '../catalog/release.js';
import { ConnectionSqlProbe } from '../checks/sql-probe.js';
import { BadInputError, CheckRedError, DriftError, InterruptedError, PhaseFailedError } from '../errors/index.js';
import { createExecutor, type CreateExecutorOptions, type ExecutorKind } from '../executors/create-executor.js';
import { ledgerSchemaName } from '../ledger/ledger-schema-name.js';
import { readBaseline } from '../ledger/read-baseline.js';
import { withLockedLedger } from '../ledger/with-locked-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { CheckResult } from '../runner/protocols/protocol-outcome.js';
import { runPhaseCommand } from '../runner/run-plan.js';
import { assertToolchainsInstalled } from '../toolchains/toolchain-state.js';
import { stepPhases } from '../runner/step-phases.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import {
  appVersionDriftError,
  compareAppVersion,
  describeDrift,
  detectRelease,
  type AppVersionComparison,
} from './app-version.js';

const log = logger('upgrade');

export interface BaselineInput {
  /** `--release`: the release the operator says the database is at; undefined with `detect`. */
  release?: string | undefined;
  /** `--detect`: the release whose appVersion the application says (exclusive with `release`). */
  detect?: boolean;
  catalogDir: string;
  target: DatabaseTarget;
  ledgerSchema: string;
  lockTimeoutMs: number;
  /** false with --no-verify: record without running the release's check. */
  verify: boolean;
  /**
   * --force: replace a different recorded release (a wrong earlier baseline), and record the
   * release even when the application's appVersion names another (reported as forced).
   */
  force: boolean;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  /** `--database-url-env` when given (phaseEnvironment decides otherwise). */
  databaseUrlEnv?: string | undefined;
  /** Stops the verification's check command (the CLI's Ctrl-C). */
  signal?: AbortSignal;
}

export type BaselineVerification =
  | { status: 'green' | 'warning'; checks: readonly CheckResult[]; message: string | null }
  | { status: 'no-check' }
  | { status: 'skipped' };

/** What the application said when the release was recorded (releases that declare appVersion). */
export interface BaselineAppVersion {
  expected: string;
  says: string | null;
  error: string | null;
  /** The release was picked by `--detect` from this value. */
  detected: boolean;
  /** The application said otherwise and `--force` recorded the release anyway. */
  forced: boolean;
  /** Releases whose appVersion the application says. */
  matches: string[];
}

export interface BaselineOutcome {
  status: 'baselined' | 'replaced' | 'unchanged';
  release: string;
  version: string;
  previous: string | null;
  verification: BaselineVerification | null;
  appVersion: BaselineAppVersion | null;
  database: string;
  schema: string;
}

/**
 * Records the release of a database leapfrog has never seen, after that release's own check
 * says the database is at it. Refuses (exit 2) when the ledger already records another release
 * unless --force: moving the release by hand would skip or repeat migrations. Every refusal is
 * decided before anything is written, so a refused baseline leaves the database untouched.
 */
export async function baseline(input: BaselineInput): Promise<BaselineOutcome> {
  const detect = input.detect === true;
  if (detect === (input.release !== undefined)) {
    throw new BadInputError('baseline needs exactly one of --release RELEASE or --detect', {
      hint: `${nextCommand('baseline', '--release', '<release>')} (the release the database is at), or ${nextCommand('baseline', '--detect')} (the release whose appVersion the application says)`,
    });
  }
  const schema = ledgerSchemaName(input.ledgerSchema);
  const catalog = await loadCatalog(input.catalogDir);
  const { target } = input;
  // The application is asked first (--detect, or --release X where X declares appVersion): a
  // release it contradicts is refused before the ledger is read or the check runs.
  const { release, appVersion } = await askApplication(input, catalog);
  const outcome = (o: Pick<BaselineOutcome, 'status' | 'previous' | 'verification'>): BaselineOutcome => ({
    ...o,
    release: release.id,
    version: release.version,
    appVersion,
    database: target.display,
    schema,
  });

  // With --force a damaged ledger counts as not baselined: the locked open below rebuilds it.
  const before = await readBaseline(target, schema, { repair: input.force });
  if (before !== null && before.release === release.id)
    return outcome({ status: 'unchanged', previous: null, verification: null });
  if (before !== null && !input.force) {
    throw new BadInputError(
      `refusing to baseline ${target.display} at ${release.id}: its ledger already records release ${before.release} (since ${before.updatedAt.toISOString()})`,
      {
        hint: `to move forward run \`${nextCommand('apply', '--to', '<release>')}\`; if ${before.release} was recorded by mistake, \`${nextCommand('baseline', '--release', release.id, '--force')}\` replaces it (after ${release.id}'s check); \`${nextCommand('status')}\` shows where it is`,
        details: { current: before.release, requested: release.id },
      },
    );
  }

  const verification: BaselineVerification = input.verify
    ? await verifyBaseline(input, catalog, release)
    : { status: 'skipped' };

  const previous = await withLockedLedger(
    target,
    { schema, lockTimeoutMs: input.lockTimeoutMs, repair: input.force },
    async (ledger) => {
      const current = await ledger.currentRelease();
      // Another command may have recorded a release while the check ran: decide again under the lock.
      if (current !== null && current.release !== before?.release && current.release !== release.id) {
        throw new BadInputError(
          `refusing to baseline ${target.display} at ${release.id}: release ${current.release} was recorded while its check ran`,
          {
            hint: `\`${nextCommand('status')}\` shows where it is and which run recorded it`,
            details: { current: current.release, requested: release.id },
          },
        );
      }
      await ledger.setCurrentRelease({ release: release.id, version: release.version });
      return current?.release ?? null;
    },
  );
  return outcome({
    status: previous === null || previous === release.id ? 'baselined' : 'replaced',
    previous,
    verification,
  });
}

/**
 * The release to record and what the application says: `--detect` picks the release from its
 * appVersion (detectRelease); `--release X` is compared with X's appVersion when X declares one,
 * and a mismatch is drift (exit 6, naming the release that matches) unless --force. One short
 * connection of its own, read-only; none when nothing is asked.
 */
async function askApplication(
  input: BaselineInput,
  catalog: Catalog,
): Promise<{ release: Release; appVersion: BaselineAppVersion | null }> {
  const named = input.release === undefined ? null : findRelease(catalog, input.release);
  if (named !== null && named.appVersion === undefined) return { release: named, appVersion: null };
  const { target } = input;
  await using probe = new ConnectionSqlProbe(target);
  const release = named ?? (await detectRelease(probe, catalog, target.display));
  const comparison: AppVersionComparison | null = await compareAppVersion(probe, catalog, release);
  if (comparison === null) return { release, appVersion: null };
  if (comparison.drift && !input.force) throw baselineDriftError(comparison, target.display, release);
  if (comparison.drift)
    log.debug(`baseline --force: recording ${release.id} though the application says ${comparison.says ?? 'nothing'}`);
  return {
    release,
    appVersion: {
      expected: comparison.expected,
      says: comparison.says,
      error: comparison.error,
      detected: named === null,
      forced: comparison.drift,
      matches: comparison.matches,
    },
  };
}

/** `baseline --release X` when the application says otherwise (exit 6), naming the release that matches. */
function baselineDriftError(c: AppVersionComparison, database: string, release: Release): DriftError {
  if (c.matches.length === 0) {
    const guard = appVersionDriftError(c, database, release.file);
    return new DriftError(
      `refusing to baseline ${database} at ${release.id} (appVersion "${c.expected}"): ${describeDrift(c)}; nothing was recorded`,
      {
        hint: `${guard.hint}; --force records ${release.id} anyway, if you are sure`,
        details: { ...guard.details, requested: release.id },
      },
    );
  }
  const newest = c.matches.at(-1) ?? '';
  return new DriftError(
    `refusing to baseline ${database} at ${release.id} (appVersion "${c.expected}"): ${describeDrift(c)}; nothing was recorded`,
    {
      hint: `${c.matches.length === 1 ? `\`${nextCommand('baseline', '--detect')}\` records ${newest}` : `\`${nextCommand('baseline', '--release', newest)}\` records ${newest} (or name the one of ${c.matches.join(', ')} that was deployed)`}; add --force to record ${release.id} anyway, if you are sure the application's version is wrong`,
      details: {
        requested: release.id,
        expected: c.expected,
        appVersion: c.says,
        error: c.error,
        matches: c.matches,
        database,
      },
    },
  );
}

/**
 * Asks the claimed release itself whether the database is at it: its green-light `check`, run by
 * the runner's own phase function (same executor, environment, protocol and time budget).
 * Recording a release the database is not at would make every later step start from the wrong
 * place, so anything but green or warning refuses.
 */
async function verifyBaseline(input: BaselineInput, catalog: Catalog, release: Release): Promise<BaselineVerification> {
  const { target } = input;
  const check = stepPhases(release).find((p) => p.phase === 'check');
  const manifestCheck = release.phases.check;
  if (check === undefined || manifestCheck === undefined) return { status: 'no-check' };
  // A check command runs from the release's toolchain (process executor): not installed is
  // "install it" (exit 2), not a red check. SQL-only checks need none.
  if (manifestCheck.run !== undefined) assertToolchainsInstalled([release], input.executorKind);

  await using executor = await createExecutor(input.executorKind, input.executorOptions);
  const runId = `baseline-${randomUUID()}`;
  await executor.prepare([release], runId);
  // The check's SQL (sql checks, appVersion) on a connection of its own: no ledger session yet.
  await using sqlProbe = new ConnectionSqlProbe(target);
  const outcome = await runPhaseCommand(
    {
      runId,
      release,
      executor,
      database: { url: target.url, urlEnv: input.databaseUrlEnv },
      secrets: target.secrets,
      signal: input.signal ?? new AbortController().signal,
      // Nothing is shown while the check runs: the verdict (and on refusal its output) is.
      emit: () => undefined,
      sqlProbe,
    },
    check,
  );

  if (outcome.status === 'succeeded') {
    return { status: outcome.warning ? 'warning' : 'green', checks: outcome.checks, message: outcome.message };
  }
  const where = `refusing to baseline ${target.display} at ${release.id}`;
  const failing = outcome.checks
    .filter((c) => c.result >= 2)
    .map((c) => `${c.check}${c.details === null ? '' : `: ${c.details}`}`);
  const tail = outcome.outputTail
    .slice(-10)
    .map((l) => `    | ${l}`)
    .join('\n');
  const details = {
    release: release.id,
    exitCode: outcome.exitCode,
    checks: outcome.checks,
    outputTail: outcome.outputTail,
  };
  // Releases are in ascending order: the one before is the likeliest real position.
  const older = catalog.releases[catalog.releases.findIndex((r) => r.id === release.id) - 1];
  const hint =
    `the database is not at ${release.id} by that release's own check; baseline the release it is at` +
    `${older === undefined ? '' : `, e.g. \`${nextCommand('baseline', '--release', older.id)}\``}, or add --no-verify if you are sure`;
  if (outcome.status === 'interrupted') {
    throw new InterruptedError(`${where}: its check was interrupted; nothing was recorded`, {
      hint: 'run the command again',
    });
  }
  // An exit0 check has no "red": its non-zero exit is the check saying no.
  if (outcome.status === 'red' || (check.protocol === 'exit0' && outcome.exitCode !== null)) {
    const list = failing.length > 0 ? failing.map((f) => `\n    FAILURE: ${f}`).join('') : `\n${tail}`;
    throw new CheckRedError(
      `${where}: release ${release.id}'s own check is red (${outcome.message ?? 'failure'}); nothing was recorded${list}`,
      {
        hint,
        details,
      },
    );
  }
  throw new PhaseFailedError(
    `${where}: release ${release.id}'s check (${manifestCheck.run?.join(' ') ?? 'sql checks'}) did not give a verdict: ${outcome.message ?? 'it failed'}; nothing was recorded${tail === '' ? '' : `\n${tail}`}`,
    {
      hint: `fix the check command (see its output above), or add --no-verify if you are sure the database is at ${release.id}`,
      details,
    },
  );
}
