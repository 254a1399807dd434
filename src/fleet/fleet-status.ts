import { LeapfrogError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { baseline, type BaselineOutcome } from '../upgrade/baseline.js';
import { statusReport } from '../upgrade/status-report.js';
import { redactKnown } from '../util/secrets.js';
import { readFleetFile, type FleetFile } from './fleet-file.js';
import { mapLimited } from './run-fleet.js';
import { resolveFleet } from './resolve-fleet.js';

/** How many targets' ledgers are read (or baselined) at once: a bounded number of connections. */
const READ_CONCURRENCY = 8;

/** One row of `status --fleet`. */
export interface FleetStatusRow {
  target: string;
  group: string;
  database: string;
  ledgerSchema: string;
  release: string | null;
  /** not-baselined | running | failed | interrupted | ok | unreachable */
  state: string;
  lastFailure: string | null;
}

/**
 * `status --fleet`: every target's own status report (read-only, one session each, never the
 * lock), as one row per target in the file's order. A target that cannot be read is a row with
 * its reason, not an error for the fleet.
 */
export async function fleetStatus(options: {
  fleetFile: string;
  ledgerSchema: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ file: FleetFile; rows: FleetStatusRow[] }> {
  const file = await readFleetFile(options.fleetFile);
  const targets = await resolveFleet(file, {
    ledgerSchema: options.ledgerSchema,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const rows = await mapLimited(targets, READ_CONCURRENCY, async (t): Promise<FleetStatusRow> => {
    const row = { target: t.name, group: t.group, database: t.target.display, ledgerSchema: t.ledgerSchema };
    try {
      const report = await statusReport({ target: t.target, ledgerSchema: t.ledgerSchema });
      const failure = report.lastFailure;
      const state = !report.baselined
        ? 'not-baselined'
        : report.running !== null
          ? 'running'
          : report.lastRun !== null && report.lastRun.status !== 'succeeded'
            ? report.lastRun.alive === false
              ? 'interrupted'
              : report.lastRun.status
            : 'ok';
      return {
        ...row,
        release: report.current?.release ?? null,
        state,
        lastFailure:
          failure === null
            ? null
            : redactKnown(
                `${failure.release} ${failure.phase}${failure.name === failure.phase ? '' : ` ${failure.name}`} ${failure.status}${failure.exitCode === null ? '' : ` (exit ${failure.exitCode})`}${failure.outputTail.length > 0 ? `: ${failure.outputTail.at(-1) ?? ''}` : ''}`,
              ),
      };
    } catch (error) {
      if (!(error instanceof LeapfrogError)) throw error;
      return { ...row, release: null, state: 'unreachable', lastFailure: redactKnown(error.message) };
    }
  });
  return { file, rows };
}

export interface FleetBaselineRow {
  target: string;
  group: string;
  status: BaselineOutcome['status'] | 'failed';
  release: string;
  exitCode: number;
  message: string | null;
}

/** `baseline --fleet --release R`: each target baselined on its own (its catalog's R); failures are rows. */
export async function baselineFleet(options: {
  fleetFile: string;
  release: string;
  ledgerSchema: string;
  lockTimeoutMs: number;
  verify: boolean;
  force: boolean;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  databaseUrlEnv?: string | undefined;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}): Promise<{ file: FleetFile; rows: FleetBaselineRow[]; exitCode: number }> {
  const file = await readFleetFile(options.fleetFile);
  const targets = await resolveFleet(file, {
    ledgerSchema: options.ledgerSchema,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const rows = await mapLimited(targets, READ_CONCURRENCY, async (t): Promise<FleetBaselineRow> => {
    try {
      const outcome = await baseline({
        release: options.release,
        catalogDir: t.catalogDir,
        target: t.target,
        ledgerSchema: t.ledgerSchema,
        lockTimeoutMs: options.lockTimeoutMs,
        verify: options.verify,
        force: options.force,
        executorKind: options.executorKind,
        ...(options.executorOptions === undefined ? {} : { executorOptions: options.executorOptions }),
        databaseUrlEnv: options.databaseUrlEnv,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return {
        target: t.name,
        group: t.group,
        status: outcome.status,
        release: outcome.release,
        exitCode: 0,
        message: null,
      };
    } catch (error) {
      if (!(error instanceof LeapfrogError)) throw error;
      return {
        target: t.name,
        group: t.group,
        status: 'failed',
        release: options.release,
        exitCode: error.exitCode,
        message: redactKnown(error.message),
      };
    }
  });
  return { file, rows, exitCode: Math.max(0, ...rows.map((r) => r.exitCode)) };
}
