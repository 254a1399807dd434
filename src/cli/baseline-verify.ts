import { randomUUID } from 'node:crypto';
import type { Catalog, Release } from '../catalog/release.js';
import { CheckRedError, InterruptedError, PhaseFailedError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { phaseEnvironment } from '../executors/phase-environment.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../pg/redact.js';
import type { Invoke, ProtocolOutcome } from '../runner/protocols/protocol-outcome.js';
import type { CheckResult } from '../runner/protocols/upgradecheck.js';
import { nextCommand } from '../util/next-command.js';

export interface VerifyBaselineInput {
  catalog: Catalog;
  release: Release;
  target: DatabaseTarget;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  /** The variable that carries the database URL to the check command. */
  /** `--database-url-env` when given (phaseEnvironment decides otherwise). */
  databaseUrlEnv?: string | undefined;
}

export type BaselineVerification =
  | { status: 'green' | 'warning'; checks: readonly CheckResult[]; message: string | null }
  | { status: 'no-check' };

/**
 * Asks the claimed release itself whether the database is at it: its green-light `check`, run
 * exactly as the runner runs it (same executor, environment, protocol and time budget). Recording
 * a release the database is not at would make every later step start from the wrong place, so
 * anything but green or warning refuses.
 */
export async function verifyBaseline(input: VerifyBaselineInput): Promise<BaselineVerification> {
  const { release, target } = input;
  const check = release.phases.check;
  if (check === undefined) return { status: 'no-check' };

  const { createExecutor } = await import('../executors/create-executor.js');
  const { runUpgradeCheck } = await import('../runner/protocols/upgradecheck.js');
  const { runExit0 } = await import('../runner/protocols/exit0.js');
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    controller.abort(new Error(`received ${name}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const executor = await createExecutor(input.executorKind, input.executorOptions);
  let outcome: ProtocolOutcome;
  try {
    const runId = `baseline-${randomUUID()}`;
    await executor.prepare([release], runId);
    const timeoutMs = release.timeoutsMs.check;
    const invoke: Invoke = async (command) => {
      const stdout: string[] = [];
      const result = await executor.run(command, {
        runId,
        release,
        phase: 'check',
        env: phaseEnvironment(release, { url: target.url, urlEnv: input.databaseUrlEnv }),
        timeoutMs,
        signal: controller.signal,
        onLine: (line, stream) => {
          if (stream === 'stdout') stdout.push(redact(line, target.secrets));
        },
      });
      return { ...result, outputTail: result.outputTail.map((l) => redact(l, target.secrets)), stdout, progress: new Map() };
    };
    outcome = check.protocol === 'upgradecheck' ? await runUpgradeCheck(invoke, check.run, timeoutMs) : await runExit0(invoke, check.run, timeoutMs);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await executor[Symbol.asyncDispose]();
  }

  if (outcome.status === 'succeeded') {
    return { status: outcome.warning ? 'warning' : 'green', checks: outcome.checks, message: outcome.message };
  }
  const where = `refusing to baseline ${target.display} at ${release.id}`;
  const failing = outcome.checks.filter((c) => c.result >= 2).map((c) => `${c.check}${c.details === null ? '' : `: ${c.details}`}`);
  const tail = outcome.outputTail.slice(-10).map((l) => `    | ${l}`).join('\n');
  const details = { release: release.id, exitCode: outcome.exitCode, checks: outcome.checks, outputTail: outcome.outputTail };
  // Releases are in ascending order: the one before is the likeliest real position.
  const older = input.catalog.releases[input.catalog.releases.findIndex((r) => r.id === release.id) - 1];
  const hint =
    `the database is not at ${release.id} by that release's own check; baseline the release it is at` +
    `${older === undefined ? '' : `, e.g. \`${nextCommand('baseline', '--release', older.id)}\``}, or add --no-verify if you are sure`;
  if (outcome.status === 'interrupted') {
    throw new InterruptedError(`${where}: its check was interrupted; nothing was recorded`, { hint: 'run the command again' });
  }
  // An exit0 check has no "red": its non-zero exit is the check saying no.
  if (outcome.status === 'red' || (check.protocol === 'exit0' && outcome.exitCode !== null)) {
    const list = failing.length > 0 ? failing.map((f) => `\n    FAILURE: ${f}`).join('') : `\n${tail}`;
    throw new CheckRedError(`${where}: release ${release.id}'s own check is red (${outcome.message ?? 'failure'}); nothing was recorded${list}`, {
      hint,
      details,
    });
  }
  throw new PhaseFailedError(
    `${where}: release ${release.id}'s check (${check.run.join(' ')}) did not give a verdict: ${outcome.message ?? 'it failed'}; nothing was recorded${tail === '' ? '' : `\n${tail}`}`,
    { hint: `fix the check command (see its output above), or add --no-verify if you are sure the database is at ${release.id}`, details },
  );
}
