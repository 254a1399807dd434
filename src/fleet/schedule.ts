import { ExitCode } from '../errors/exit-codes.js';
import { LeapfrogError } from '../errors/index.js';
import type { FleetGroup } from './fleet-file.js';

/**
 * The fleet scheduler: WHICH target walks WHERE and WHEN, over a role interface, with no I/O of
 * its own (the real TargetRunner is run-fleet.ts; the unit tests use a recording fake).
 *
 * - Groups: a group starts once every group it `dependsOn` has finished; groups that do not
 *   depend on each other run at the same time, each at most `parallel` targets at a time.
 * - Lockstep (OpenStack): for each release of the fleet's path in turn, the groups (in dependency
 *   order, as above) take each of their targets that needs that release to it; no target starts
 *   release k+1 before every target has finished k. A failure stops the fleet at k: with
 *   `onError: fail` nothing new starts anywhere; with `continue` the rest of release k finishes
 *   first (every group), and then the fleet stops.
 * - Independent walks (tenants): each target walks its own path to R in one go; groups in
 *   dependency order (the canary first), at most `parallel` targets of a group at a time. A
 *   failure in a group with `onError: fail` starts nothing new anywhere (the canary's purpose);
 *   with `continue` it is recorded and everything else goes on.
 *
 * A target's failure (or a TargetRunner that throws) is that target's result and never takes
 * another target down: running targets always finish, and nothing is cancelled on their behalf.
 * An aborted signal starts nothing new; the running targets get it and stop themselves.
 */

export interface ScheduledTarget {
  readonly name: string;
  readonly group: string;
  /** Where the target is before the fleet runs, when known (shown for targets with nothing to do). */
  readonly current?: string | null;
}

/** What one walk of one target reports. A TargetRunner should return failures, not throw them. */
export interface WalkOutcome {
  ok: boolean;
  /** Where the target is after the walk (null when unknown, e.g. it could not be read). */
  release: string | null;
  /** 0 when ok; the error's exit code otherwise. */
  exitCode: number;
  error: Error | null;
}

/** The role the scheduler drives: walks one target to one release (lockstep) or to R. */
export interface TargetRunner<T extends ScheduledTarget> {
  walk(target: T, to: string, signal: AbortSignal): Promise<WalkOutcome>;
}

export type TargetState = 'done' | 'failed' | 'stopped';

export interface TargetResult {
  target: string;
  group: string;
  /** done: at R. failed: its own walk failed. stopped: it did not get to R because the fleet stopped. */
  state: TargetState;
  release: string | null;
  exitCode: number;
  /** The release it was walking to when it failed. */
  failedAt: string | null;
  error: Error | null;
}

export interface FleetCounts {
  total: number;
  done: number;
  running: number;
  failed: number;
}

export type FleetEvent =
  | { type: 'fleet-started'; lockstep: boolean; to: string; stops: readonly string[]; counts: FleetCounts }
  | { type: 'fleet-release-started'; release: string; counts: FleetCounts }
  | { type: 'target-started'; target: string; group: string; to: string; counts: FleetCounts }
  | {
      type: 'target-finished';
      target: string;
      group: string;
      to: string;
      ok: boolean;
      release: string | null;
      exitCode: number;
      message: string | null;
      counts: FleetCounts;
    }
  | { type: 'fleet-stopped'; release: string | null; reason: string; counts: FleetCounts };

export interface ScheduleOptions<T extends ScheduledTarget> {
  targets: readonly T[];
  /** In run order (FleetFile.runOrder). */
  groups: readonly FleetGroup[];
  runner: TargetRunner<T>;
  /** R: the release every target must reach. */
  to: string;
  /**
   * Lockstep: the releases of the fleet's path in order (ending at R), and whether a target walks
   * through a given one (a target already past it, or whose catalog skips it, does not). Null:
   * independent walks.
   */
  lockstep: { stops: readonly string[]; needs(target: T, release: string): boolean } | null;
  /** `--parallel N`: replaces every group's `parallel`. */
  parallel?: number | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: FleetEvent) => void) | undefined;
}

export interface FleetResult {
  to: string;
  /** In the order of `targets`. */
  targets: readonly TargetResult[];
  /** 0 only when every target is at R; otherwise the worst exit code of the targets. */
  exitCode: number;
  /** Lockstep: the release the fleet stopped at; null when it did not stop early. */
  stoppedAt: string | null;
}

export async function scheduleFleet<T extends ScheduledTarget>(options: ScheduleOptions<T>): Promise<FleetResult> {
  const signal = options.signal ?? new AbortController().signal;
  const emit = options.onEvent ?? (() => undefined);
  const results = new Map<string, TargetResult>();
  for (const t of options.targets) {
    results.set(t.name, {
      target: t.name,
      group: t.group,
      state: 'stopped',
      release: t.current ?? null,
      exitCode: 0,
      failedAt: null,
      error: null,
    });
  }
  const counts: FleetCounts = { total: options.targets.length, done: 0, running: 0, failed: 0 };
  const snapshot = (): FleetCounts => ({ ...counts });
  let stopped = false;
  let stopReason = '';
  const stop = (reason: string) => {
    if (!stopped) stopReason = reason;
    stopped = true;
  };
  const canStart = () => !stopped && !signal.aborted;

  /** One walk; never throws, never lets a failure escape to another target's walk. */
  const walk = async (target: T, to: string, group: FleetGroup, final: boolean): Promise<boolean> => {
    counts.running++;
    emit({ type: 'target-started', target: target.name, group: group.name, to, counts: snapshot() });
    let outcome: WalkOutcome;
    try {
      outcome = await options.runner.walk(target, to, signal);
    } catch (error) {
      outcome = {
        ok: false,
        release: null,
        exitCode: error instanceof LeapfrogError ? error.exitCode : ExitCode.phaseFailed,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
    counts.running--;
    const result = results.get(target.name);
    if (result !== undefined) {
      if (outcome.release !== null) result.release = outcome.release;
      if (outcome.ok) {
        if (final) {
          result.state = 'done';
          counts.done++;
        }
      } else {
        result.state = 'failed';
        result.exitCode = outcome.exitCode === 0 ? ExitCode.phaseFailed : outcome.exitCode;
        result.failedAt = to;
        result.error = outcome.error;
        counts.failed++;
      }
    }
    emit({
      type: 'target-finished',
      target: target.name,
      group: group.name,
      to,
      ok: outcome.ok,
      release: outcome.release,
      exitCode: outcome.exitCode,
      message: outcome.error?.message ?? null,
      counts: snapshot(),
    });
    if (!outcome.ok && group.onError === 'fail') stop(`${target.name} failed (group ${group.name}, onError: fail)`);
    return outcome.ok;
  };

  const members = (group: FleetGroup) => options.targets.filter((t) => t.group === group.name);
  const limitOf = (group: FleetGroup) => Math.max(1, options.parallel ?? group.parallel);

  let stoppedAt: string | null = null;
  if (options.lockstep === null) {
    emit({ type: 'fleet-started', lockstep: false, to: options.to, stops: [options.to], counts: snapshot() });
    await inDependencyOrder(options.groups, canStart, (group) =>
      pool(members(group), limitOf(group), canStart, (t) => walk(t, options.to, group, true)),
    );
  } else {
    const { stops } = options.lockstep;
    const needs = (t: T, release: string) => options.lockstep?.needs(t, release) ?? false;
    // A target with no release of the path to walk through is already at R.
    for (const t of options.targets) {
      const r = results.get(t.name);
      if (r !== undefined && !stops.some((release) => needs(t, release))) {
        r.state = 'done';
        counts.done++;
      }
    }
    emit({ type: 'fleet-started', lockstep: true, to: options.to, stops, counts: snapshot() });
    for (const release of stops) {
      if (!canStart()) break;
      emit({ type: 'fleet-release-started', release, counts: snapshot() });
      const final = release === options.to;
      let failedHere = false;
      await inDependencyOrder(options.groups, canStart, async (group) => {
        const walkers = members(group).filter((t) => results.get(t.name)?.state !== 'failed' && needs(t, release));
        await pool(walkers, limitOf(group), canStart, async (t) => {
          if (!(await walk(t, release, group, final))) failedHere = true;
        });
      });
      if (failedHere || stopped) {
        stoppedAt = release;
        stop(stopReason || `a target failed at ${release}`);
        break;
      }
    }
  }
  if (signal.aborted) stop('interrupted');
  if (stopped) emit({ type: 'fleet-stopped', release: stoppedAt, reason: stopReason, counts: snapshot() });
  const list = options.targets.map((t) => results.get(t.name) as TargetResult);
  return { to: options.to, targets: list, exitCode: worstExitCode(list, signal.aborted), stoppedAt };
}

/**
 * 0 only when every target is done. Otherwise the worst of the failed targets' codes (130, an
 * interruption, is the worst; then the highest); targets that merely did not start count as an
 * interruption when the fleet was interrupted, and as a failure otherwise.
 */
export function worstExitCode(results: readonly TargetResult[], interrupted: boolean): number {
  if (results.every((r) => r.state === 'done')) return ExitCode.ok;
  const codes = results.filter((r) => r.state === 'failed').map((r) => r.exitCode);
  if (interrupted) codes.push(ExitCode.interrupted);
  if (codes.length === 0) codes.push(ExitCode.phaseFailed);
  return Math.max(...codes);
}

/**
 * Runs every group once each group it depends on has finished: groups that do not depend on each
 * other (two regions, two independent services) run at the same time, each within its own
 * `parallel`. `groups` is in run order (every group after its dependencies), so each group's
 * dependencies are already started when it is reached. A group whose dependencies finished after
 * the fleet stopped does not start.
 */
async function inDependencyOrder(
  groups: readonly FleetGroup[],
  canStart: () => boolean,
  run: (group: FleetGroup) => Promise<void>,
): Promise<void> {
  const finished = new Map<string, Promise<void>>();
  for (const group of groups) {
    const dependencies = group.dependsOn.map((d) => finished.get(d) ?? Promise.resolve());
    finished.set(
      group.name,
      Promise.all(dependencies).then(() => (canStart() ? run(group) : undefined)),
    );
  }
  await Promise.all(finished.values());
}

/** Runs `work` over `items`, at most `limit` at a time, starting each only while `canStart()`. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  canStart: () => boolean,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && canStart()) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
