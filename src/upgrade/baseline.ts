import { randomUUID } from 'node:crypto';
import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog, Release } from '../catalog/release.js';
import { ConnectionSqlProbe } from '../checks/sql-probe.js';
import { BadInputError, CheckRedError, InterruptedError, PhaseFailedError } from '../errors/index.js';
import { createExecutor, type CreateExecutorOptions, type ExecutorKind } from '../executors/create-executor.js';
import { ledgerSchemaName } from '../ledger/ledger-schema-name.js';
import { readBaseline } from '../ledger/read-baseline.js';
import { withLockedLedger } from '../ledger/with-locked-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { CheckResult } from '../runner/protocols/protocol-outcome.js';
import { runPhaseCommand } from '../runner/run-plan.js';
import { stepPhases } from '../runner/step-phases.js';
import { nextCommand } from '../util/next-command.js';

export interface BaselineInput {
  release: string;
  catalogDir: string;
  target: DatabaseTarget;
  ledgerSchema: string;
  lockTimeoutMs: number;
  /** false with --no-verify: record without running the release's check. */
  verify: boolean;
  /** --force: replace a different recorded release (a wrong earlier baseline). */
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

export interface BaselineOutcome {
  status: 'baselined' | 'replaced' | 'unchanged';
  release: string;
  version: string;
  previous: string | null;
  verification: BaselineVerification | null;
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
  const schema = ledgerSchemaName(input.ledgerSchema);
  const catalog = await loadCatalog(input.catalogDir);
  const release = findRelease(catalog, input.release);
  const { target } = input;
  const outcome = (o: Pick<BaselineOutcome, 'status' | 'previous' | 'verification'>): BaselineOutcome => ({
    ...o,
    release: release.id,
    version: release.version,
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
