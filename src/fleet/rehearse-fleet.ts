import { join } from 'node:path';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog } from '../catalog/release.js';
import { ExitCode } from '../errors/exit-codes.js';
import { LeapfrogError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { pinImageDigests } from '../images/pin-image-digests.js';
import { writePlanFile } from '../plan-file/plan-file.js';
import { planPath } from '../planner/plan-path.js';
import { defaultScratch, rehearse } from '../rehearse/rehearse.js';
import { logger } from '../util/logger.js';
import { redactKnown } from '../util/secrets.js';
import { planFleet, type FleetProgressEvent, type PlannedTarget } from './run-fleet.js';
import { scheduleFleet, type TargetRunner, type WalkOutcome } from './schedule.js';

const log = logger('fleet');

/**
 * `rehearse --fleet F --clone --to R`: every target's whole path to R rehearsed on a scratch copy
 * of its own database (`CREATE DATABASE … TEMPLATE` on its server, src/rehearse), never on the
 * target itself. Each target gets its plan file and its rehearsal report (JSON and HTML timeline)
 * in `<report-dir>/<target>/`; the scratch copies are dropped unless `keep`.
 *
 * The groups keep their meaning: a red canary rehearsal (onError: fail) starts no other target's
 * rehearsal, at most `parallel` copies of a group at a time. The walks are independent (no
 * lockstep): each copy is alone on its path, so there is no other service to wait for.
 */

export interface RehearseFleetOptions {
  fleetFile: string;
  to: string;
  ledgerSchema: string;
  parallel?: number | undefined;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  databaseUrlEnv?: string | undefined;
  lockTimeoutMs: number;
  keep: boolean;
  reportDir: string;
  leapfrogVersion: string;
  signal?: AbortSignal;
  onProgress?: (event: FleetProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

export interface FleetRehearsalRow {
  target: string;
  group: string;
  /** Where the target is (its ledger; the rehearsal never moves it). */
  current: string | null;
  /** succeeded | failed | nothing-to-do | not-run (the fleet stopped first) */
  status: 'succeeded' | 'failed' | 'nothing-to-do' | 'not-run';
  /** The release the copy reached. */
  reached: string | null;
  exitCode: number;
  durationMs: number | null;
  /** The rehearsal report (HTML), when one was written. */
  report: string | null;
  message: string | null;
}

export interface FleetRehearsal {
  fleet: string;
  to: string;
  exitCode: number;
  rows: FleetRehearsalRow[];
}

export async function rehearseFleet(options: RehearseFleetOptions): Promise<FleetRehearsal> {
  const { file, targets, catalogs } = await planFleet(options);
  const runner = new RehearsalRunner(options, catalogs);
  const result = await scheduleFleet({
    targets,
    groups: file.runOrder,
    runner,
    to: options.to,
    lockstep: null,
    parallel: options.parallel,
    signal: options.signal,
    onEvent: options.onProgress,
  });
  const rows = result.targets.map((r, i): FleetRehearsalRow => {
    const t = targets[i] as PlannedTarget;
    const done = runner.done.get(t.name);
    return {
      target: t.name,
      group: t.group,
      current: t.current,
      status: done?.status ?? 'not-run',
      reached: done?.reached ?? null,
      exitCode: r.state === 'done' ? 0 : r.exitCode,
      durationMs: done?.durationMs ?? null,
      report: done?.report ?? null,
      message: r.error === null ? null : redactKnown(r.error.message),
    };
  });
  return { fleet: file.file, to: options.to, exitCode: result.exitCode, rows };
}

/** The TargetRunner of a fleet rehearsal: plan file, clone, rehearse, drop; its failure is its result. */
class RehearsalRunner implements TargetRunner<PlannedTarget> {
  readonly done = new Map<string, Pick<FleetRehearsalRow, 'status' | 'reached' | 'durationMs' | 'report'>>();
  constructor(
    private readonly options: RehearseFleetOptions,
    private readonly catalogs: ReadonlyMap<string, Catalog>,
  ) {}

  async walk(t: PlannedTarget, to: string, signal: AbortSignal): Promise<WalkOutcome> {
    const { options } = this;
    if (t.path === null || t.current === null) {
      return failed(new Error(`cannot rehearse ${t.name}: ${t.problem ?? 'its ledger could not be read'}`));
    }
    if (t.path.length === 0) {
      this.done.set(t.name, { status: 'nothing-to-do', reached: t.current, durationMs: 0, report: null });
      return { ok: true, release: t.current, exitCode: 0, error: null };
    }
    try {
      const catalog = this.catalogs.get(t.catalogDir) ?? (await loadCatalog(t.catalogDir));
      const plan = planPath(catalog, t.current, to);
      const dir = join(options.reportDir, t.name);
      const planFile = join(dir, `plan-${plan.from.release}-to-${plan.to.release}.json`);
      await writePlanFile(planFile, options.executorKind === 'docker' ? await pinImageDigests(plan) : plan, {
        createdAt: new Date().toISOString(),
        leapfrogVersion: options.leapfrogVersion,
      });
      log.debug(`fleet rehearsal: ${t.name} ${plan.from.release} -> ${to} on a clone`);
      const outcome = await rehearse({
        planFile,
        source: { kind: 'clone', production: t.target },
        scratch: defaultScratch(t.target),
        keep: options.keep,
        reportDir: dir,
        signal,
        run: {
          catalogDir: t.catalogDir,
          ledgerSchema: t.ledgerSchema,
          executorKind: options.executorKind,
          ...(options.executorOptions === undefined ? {} : { executorOptions: options.executorOptions }),
          // As in apply --fleet: the fleet shows counts and phases, no renderer per target.
          output: 'json',
          sink: null,
          lockTimeoutMs: options.lockTimeoutMs,
          databaseUrlEnv: options.databaseUrlEnv,
        },
        onEvent: (event) => {
          if (event.type === 'phase-started')
            options.onProgress?.({
              type: 'target-phase',
              target: t.name,
              release: event.release,
              phase: event.phase,
              name: event.name,
            });
        },
      });
      const { report } = outcome;
      this.done.set(t.name, {
        status: report.status,
        reached: report.finalRelease,
        durationMs: report.durationMs,
        report: outcome.htmlPath,
      });
      if (outcome.error !== null) return { ...failed(outcome.error), release: report.finalRelease };
      // The target itself has not moved: the scheduler's "release" is the copy's, shown as `reached`.
      return { ok: true, release: to, exitCode: 0, error: null };
    } catch (error) {
      // Refused before the copy ran (the source busy for TEMPLATE, a stale catalog): this target only.
      return failed(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

function failed(error: Error): WalkOutcome {
  return {
    ok: false,
    release: null,
    exitCode: error instanceof LeapfrogError ? error.exitCode : ExitCode.phaseFailed,
    error,
  };
}
