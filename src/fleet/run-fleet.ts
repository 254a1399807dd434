import semver from 'semver';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog } from '../catalog/release.js';
import { ExitCode } from '../errors/exit-codes.js';
import { LeapfrogError, NothingToDoError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { LedgerSession } from '../ledger/open-ledger.js';
import type { ReleaseRef } from '../planner/plan.js';
import { planPath } from '../planner/plan-path.js';
import type { RunnerEvent } from '../runner/events.js';
import type { BackupOption } from '../upgrade/pre-upgrade-backup.js';
import { runUpgrade } from '../upgrade/run-upgrade.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import { redactKnown } from '../util/secrets.js';
import { readFleetFile, type FleetFile } from './fleet-file.js';
import { resolveFleet, type FleetTarget } from './resolve-fleet.js';
import { scheduleFleet, type FleetEvent, type FleetResult, type TargetRunner, type WalkOutcome } from './schedule.js';

const log = logger('fleet');

/** A fleet target as scheduled: where its ledger says it is and the releases of its own path to R. */
export interface PlannedTarget extends FleetTarget {
  current: string | null;
  /** The releases of its path to R, in order; null when its ledger could not be read (the walk reports why). */
  path: readonly string[] | null;
  /** Why the path is unknown (not baselined, unreachable, no path), redacted. */
  problem: string | null;
}

/** Progress of a fleet run: the scheduler's events, and each running target's phases. */
export type FleetProgressEvent =
  FleetEvent | { type: 'target-phase'; target: string; release: string; phase: string; name: string };

export interface RunFleetOptions {
  fleetFile: string;
  /** R. */
  to: string;
  /** `step --fleet`: only the first release of the fleet's path. */
  oneRelease?: boolean;
  ledgerSchema: string;
  parallel?: number | undefined;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  databaseUrlEnv?: string | undefined;
  lockTimeoutMs: number;
  /** Each target's pre-upgrade backup (in its own file; one backup dir serves the fleet). */
  safety?: { backupDir: string; backup?: BackupOption | undefined };
  signal?: AbortSignal;
  onProgress?: (event: FleetProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

export interface FleetTargetReport {
  target: string;
  group: string;
  database: string;
  ledgerSchema: string;
  release: string | null;
  state: 'done' | 'failed' | 'stopped';
  exitCode: number;
  failedAt: string | null;
  /** The error's message and hint, redacted; null when it did not fail. */
  lastFailure: { message: string; hint: string | null } | null;
}

export interface FleetRunReport {
  type: 'fleet-summary';
  fleet: string;
  to: string;
  lockstep: boolean;
  stoppedAt: string | null;
  exitCode: number;
  targets: FleetTargetReport[];
  next: string | null;
}

/** A planned fleet: the file, every target with its path, and the fleet's path (the lockstep stops). */
export interface FleetPlan {
  file: FleetFile;
  targets: PlannedTarget[];
  stops: string[];
  /** Each distinct catalog, loaded once: every walk of the fleet reuses it. */
  catalogs: ReadonlyMap<string, Catalog>;
}

/** Reads, resolves and plans a fleet: every target with its group, current release and path to R. */
export async function planFleet(options: {
  fleetFile: string;
  to: string;
  ledgerSchema: string;
  env?: NodeJS.ProcessEnv;
  /**
   * `lockstep-only`: read each target's ledger only when the fleet walks in lockstep (which needs
   * every path up front). Independent walks read their own ledger when they start, so reading it
   * here too would cost each target one more connection; such targets are planned as unknown.
   */
  ledgers?: 'read' | 'lockstep-only';
}): Promise<FleetPlan> {
  const file = await readFleetFile(options.fleetFile);
  const targets = await resolveFleet(file, {
    ledgerSchema: options.ledgerSchema,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const catalogs = new Map<string, Promise<Catalog>>();
  const catalogOf = (dir: string) => {
    let catalog = catalogs.get(dir);
    if (catalog === undefined) catalogs.set(dir, (catalog = loadCatalog(dir)));
    return catalog;
  };
  // A broken catalog is bad input for the whole fleet: nothing runs (as for one database).
  await Promise.all([...new Set(targets.map((t) => t.catalogDir))].map((dir) => catalogOf(dir)));
  const versions = new Map<string, string>();
  const readLedgers = options.ledgers !== 'lockstep-only' || file.lockstep;
  const planned = await mapLimited(targets, 8, async (t): Promise<PlannedTarget> => {
    if (!readLedgers) return { ...t, current: null, path: null, problem: null };
    const catalog = await catalogOf(t.catalogDir);
    let current: ReleaseRef | null;
    try {
      await using session = await LedgerSession.open(t.target, t.ledgerSchema);
      current = session.reading.current;
    } catch (error) {
      return { ...t, current: null, path: null, problem: messageOf(error) };
    }
    if (current === null) return { ...t, current: null, path: null, problem: 'not baselined' };
    try {
      const plan = planPath(catalog, current.release, options.to);
      for (const s of plan.steps) versions.set(s.release, s.version);
      return { ...t, current: current.release, path: plan.steps.map((s) => s.release), problem: null };
    } catch (error) {
      if (error instanceof NothingToDoError) return { ...t, current: current.release, path: [], problem: null };
      return { ...t, current: current.release, path: null, problem: messageOf(error) };
    }
  });
  // The fleet's path: every release some target walks through, oldest first (catalogs of one
  // deployment share release ids, so the union is the releases the fleet moves through together).
  const stops = [...versions.keys()].sort((a, b) => {
    const va = semver.coerce(versions.get(a))?.version ?? '0.0.0';
    const vb = semver.coerce(versions.get(b))?.version ?? '0.0.0';
    return semver.compare(va, vb) || a.localeCompare(b);
  });
  if (!stops.includes(options.to) && planned.some((t) => t.path === null)) stops.push(options.to);
  const loaded = new Map<string, Catalog>();
  for (const [dir, catalog] of catalogs) loaded.set(dir, await catalog);
  return { file, targets: planned, stops, catalogs: loaded };
}

/**
 * `apply --fleet` / `step --fleet`: plans the fleet, then schedules it with the real TargetRunner
 * (one runUpgrade per target walk: its own ledger, lock and backup). Returns the per-target
 * report; the exit code is 0 only when every target is at R.
 */
export async function runFleet(options: RunFleetOptions): Promise<FleetRunReport> {
  const { file, targets, stops, catalogs } = await planFleet({
    ...options,
    ledgers: options.oneRelease === true ? 'read' : 'lockstep-only',
  });
  const lockstep = file.lockstep || options.oneRelease === true;
  const fleetStops = options.oneRelease === true ? stops.slice(0, 1) : stops;
  const to = options.oneRelease === true ? (stops[0] ?? options.to) : options.to;
  const progress = options.onProgress ?? (() => undefined);
  const runner = new UpgradeTargetRunner(options, progress, catalogs);
  const result = await scheduleFleet({
    targets,
    groups: file.runOrder,
    runner,
    to,
    lockstep: lockstep
      ? {
          stops: fleetStops,
          // A target whose path is unknown walks (and so reports why it cannot) at the first stop.
          needs: (t, release) => (t.path === null ? release === fleetStops[0] : t.path.includes(release)),
        }
      : null,
    parallel: options.parallel,
    signal: options.signal,
    onEvent: progress,
  });
  return fleetReport(file, targets, result, lockstep, options);
}

/** The real TargetRunner: one runUpgrade (apply --to) per walk; its failure is its result. */
class UpgradeTargetRunner implements TargetRunner<PlannedTarget> {
  constructor(
    private readonly options: RunFleetOptions,
    private readonly progress: (event: FleetProgressEvent) => void,
    private readonly catalogs: ReadonlyMap<string, Catalog>,
  ) {}

  async walk(t: PlannedTarget, to: string, signal: AbortSignal): Promise<WalkOutcome> {
    const { options } = this;
    log.debug(`fleet: ${t.name} -> ${to}`);
    try {
      const summary = await runUpgrade({
        to,
        catalogDir: t.catalogDir,
        // Loaded once per catalog by planFleet: a fleet of hundreds reads and validates it once.
        catalog: this.catalogs.get(t.catalogDir),
        target: t.target,
        ledgerSchema: t.ledgerSchema,
        executorKind: options.executorKind,
        ...(options.executorOptions === undefined ? {} : { executorOptions: options.executorOptions }),
        mode: 'apply',
        // No per-target renderer: the fleet shows counts and phases, and a fleet of hundreds must
        // neither hold nor format every target's lines.
        output: 'json',
        sink: null,
        lockTimeoutMs: options.lockTimeoutMs,
        databaseUrlEnv: options.databaseUrlEnv,
        signal,
        ...(options.safety === undefined ? {} : { safety: options.safety }),
        rerunCommand: nextCommand('apply', '--fleet', this.options.fleetFile, '--to', options.to),
        onEvent: (event: RunnerEvent) => {
          if (event.type === 'phase-started') {
            this.progress({
              type: 'target-phase',
              target: t.name,
              release: event.release,
              phase: event.phase,
              name: event.name,
            });
          }
        },
      });
      const error = summary.result.error ?? null;
      return {
        ok: error === null && summary.finalRelease.release === to,
        release: summary.finalRelease.release,
        exitCode: error?.exitCode ?? (summary.finalRelease.release === to ? 0 : ExitCode.phaseFailed),
        error,
      };
    } catch (error) {
      // A refusal before the run (lock held, not baselined, downgrade, drift): this target's result only.
      return {
        ok: false,
        release: null,
        exitCode: error instanceof LeapfrogError ? error.exitCode : ExitCode.phaseFailed,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
  }
}

function fleetReport(
  file: FleetFile,
  targets: readonly PlannedTarget[],
  result: FleetResult,
  lockstep: boolean,
  options: RunFleetOptions,
): FleetRunReport {
  const reports = result.targets.map((r, i): FleetTargetReport => {
    const t = targets[i] as PlannedTarget;
    return {
      target: r.target,
      group: r.group,
      database: t.target.display,
      ledgerSchema: t.ledgerSchema,
      release: r.release ?? t.current,
      state: r.state,
      exitCode: r.state === 'done' ? 0 : r.exitCode,
      failedAt: r.failedAt,
      lastFailure:
        r.error === null
          ? null
          : {
              message: redactKnown(r.error.message),
              hint: r.error instanceof LeapfrogError ? redactKnown(r.error.hint) : null,
            },
    };
  });
  return {
    type: 'fleet-summary',
    fleet: file.file,
    to: result.to,
    lockstep,
    stoppedAt: result.stoppedAt,
    exitCode: result.exitCode,
    targets: reports,
    // A re-run resumes only the unfinished targets, each from its own ledger.
    next:
      result.exitCode === 0
        ? null
        : nextCommand(options.oneRelease === true ? 'step' : 'apply', '--fleet', file.file, '--to', options.to),
  };
}

function messageOf(error: unknown): string {
  return redactKnown(error instanceof Error ? error.message : String(error));
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
