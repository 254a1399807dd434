import { findRelease } from '../catalog/find-release.js';
import type { Catalog, Release } from '../catalog/release.js';
import { seriesOf } from '../catalog/series.js';
import { NothingToDoError, RefusedError } from '../errors/index.js';
import { indexOf, type CatalogIndex } from './catalog-index.js';
import { MinTree } from './min-tree.js';
import type { Plan, PlanStep, StepReason } from './plan.js';
import { nextCommand } from '../util/next-command.js';

/**
 * The path from the release a database is at to the release the operator wants. PURE: the same
 * catalog and ids always give the same plan or the same typed error; no I/O, no clock.
 *
 * Rules (docs/planning.md explains them with examples):
 * - each step's release accepts the stop before it (its upgradeFrom range admits that version);
 * - every milestone strictly between `from` and `to` is visited, at the newest non-yanked patch
 *   of its series below the target;
 * - yanked releases are never stops or targets (`from` may be yanked: the database may be on it);
 * - a path leaves a series only from the newest non-yanked patch of that series (below the
 *   target), so a stop resolves to the newest patch; older patches appear only when the newest
 *   one cannot be entered directly (patch walk). The database's own series is exempt: leaving
 *   `from` directly is allowed when the next release accepts it;
 * - fewest steps; among equally short paths, the newest predecessor is chosen for every stop,
 *   walking back from the target;
 * - no hop enters an entry release (`upgradeFrom: none`): a path that would have to is refused as
 *   a new lineage (NewLineageError, exit 5), never as a range to widen.
 */
export function planPath(catalog: Catalog, from: string, to: string): Plan {
  const index = indexOf(catalog);
  // Ids resolve through the index's map; versions and unknown ids go through findRelease.
  const fromRelease = index.byId(from) ?? findRelease(catalog, from);
  const toRelease = index.byId(to) ?? findRelease(catalog, to);
  const f = index.positionOf(fromRelease);
  const t = index.positionOf(toRelease);

  if (t === f) {
    throw new NothingToDoError(`nothing to do: the database is already at ${toRelease.id}`, {
      hint: `pick a newer --to (${nextCommand('releases')} lists the catalog)`,
      details: { from: fromRelease.id, to: toRelease.id },
    });
  }
  if (t < f) {
    throw new RefusedError(
      `refusing to downgrade from ${fromRelease.id} (${fromRelease.version}) to ${toRelease.id} (${toRelease.version})`,
      {
        hint: `leapfrog is forward-only; restore the backup taken before you upgraded (${nextCommand('backups')})`,
        details: { from: fromRelease.id, to: toRelease.id },
      },
    );
  }
  if (toRelease.yanked) {
    const alternative = newestUsableInSeries(index, t, f);
    throw new RefusedError(`${toRelease.id} is yanked (a known-bad release) and cannot be a target`, {
      hint: alternative
        ? `plan to ${alternative.id} instead: ${nextCommand('plan', '--from', fromRelease.id, '--to', alternative.id)}`
        : `pick another target from: ${nextCommand('releases')}`,
      details: { from: fromRelease.id, to: toRelease.id },
    });
  }

  if (toRelease.entry) throw new NewLineageError(fromRelease, toRelease, toRelease);

  const exits = exitPositions(index, f, t);
  const required = requiredStops(index, f, t, exits);
  const milestoneAt = new Map(required.map((stop) => [stop.position, stop.milestone]));
  const stops = shortestPath(
    index,
    exits,
    f,
    t,
    required.map((stop) => stop.position),
  ).map((position) => ({
    position,
    milestone: milestoneAt.get(position),
  }));

  const steps: PlanStep[] = [];
  let previous = fromRelease;
  for (const stop of stops) {
    const release = index.releases[stop.position] as Release;
    const reasons: StepReason[] = [];
    if (stop.milestone)
      reasons.push(
        stop.milestone === release ? { kind: 'milestone' } : { kind: 'milestone', milestone: stop.milestone.id },
      );
    reasons.push({ kind: 'accepts', range: release.upgradeFrom, previous: previous.id });
    if (stop.position === t) reasons.push({ kind: 'target' });
    steps.push({
      release: release.id,
      version: release.version,
      image: release.image ?? null,
      imageDigest: null,
      manifestDigest: release.manifestDigest,
      reasons,
    });
    previous = release;
  }

  return {
    planVersion: 1,
    from: { release: fromRelease.id, version: fromRelease.version },
    to: { release: toRelease.id, version: toRelease.version },
    steps,
    catalogDigest: catalog.digest,
  };
}

/** Newest non-yanked release of `position`'s series above `floor`, if any. */
function newestUsableInSeries(index: CatalogIndex, position: number, floor: number): Release | undefined {
  const start = index.seriesStart[position] as number;
  let best: Release | undefined;
  for (let i = start; i < index.releases.length && index.sameSeries(i, position); i++) {
    const release = index.releases[i] as Release;
    if (i > floor && !release.yanked) best = release;
  }
  return best;
}

/**
 * exits[p - f] is true when position p (f < p < t) is the newest non-yanked release of its series
 * below the target: the only release of its series a path may leave that series from.
 */
function exitPositions(index: CatalogIndex, f: number, t: number): Uint8Array {
  const exits = new Uint8Array(t - f + 1);
  let seriesDone = -1;
  for (let p = t - 1; p > f; p--) {
    const start = index.seriesStart[p] as number;
    if (start === seriesDone) continue;
    if (!(index.releases[p] as Release).yanked) {
      exits[p - f] = 1;
      seriesDone = start;
    }
  }
  return exits;
}

/** The milestone series strictly between from and to, each resolved to its exit release. */
function requiredStops(
  index: CatalogIndex,
  f: number,
  t: number,
  exits: Uint8Array,
): { position: number; milestone: Release }[] {
  const stops: { position: number; milestone: Release }[] = [];
  for (let p = f + 1; p < t; p++) {
    const release = index.releases[p] as Release;
    if (!release.milestone || index.sameSeries(p, t)) continue; // the target visits its own series
    const last = stops[stops.length - 1];
    if (last && index.sameSeries(last.position, p)) continue;
    let exit = -1;
    for (let q = Math.min(index.seriesEnd[p] as number, t - 1); q >= p; q--) {
      if (exits[q - f] === 1) {
        exit = q;
        break;
      }
    }
    if (exit < 0) {
      const series = seriesOf(release.version);
      throw new RefusedError(
        `no path from ${(index.releases[f] as Release).id} to ${(index.releases[t] as Release).id}: milestone ${release.id} must be visited, but it and every newer patch of series ${series} are yanked`,
        {
          hint: `a release engineer must publish a fixed patch of ${series} (a new release.yaml) before this upgrade; see: ${nextCommand('releases')}`,
          details: { milestone: release.id, series },
        },
      );
    }
    stops.push({ position: exit, milestone: release });
  }
  return stops;
}

/**
 * Fewest hops from `f` to `t` through every required stop, as the positions after `f`. Dynamic
 * programming in catalog order: each release's best predecessor is a range-minimum query over the
 * intervals its upgradeFrom admits, clamped to start at the last required stop (a path may not
 * skip it). Keys order by (steps, then newest predecessor), which is the documented tie-break.
 */
function shortestPath(
  index: CatalogIndex,
  exits: Uint8Array,
  f: number,
  t: number,
  required: readonly number[],
): number[] {
  const length = t - f + 1;
  // A key packs (steps, newest predecessor first) into one number: steps * length + (length-1-p).
  const any = new MinTree(length); // every reached release: predecessors within the same series
  const leaving = new MinTree(length); // releases a path may leave their series from
  const predecessor = new Int32Array(length).fill(-1);
  const steps = new Int32Array(length).fill(-1);
  steps[0] = 0;
  any.set(0, length - 1);
  leaving.set(0, length - 1);

  let floor = 0; // local position of the last required stop passed
  let nextRequired = 0;
  for (let p = 1; p < length; p++) {
    const position = f + p;
    const isRequired = required[nextRequired] === position;
    if (!(index.releases[position] as Release).yanked) {
      const seriesStart = index.seriesStart[position] as number;
      let best = Number.POSITIVE_INFINITY;
      for (const run of index.admittedBy(position)) {
        const lo = Math.max(run.lo, f + floor);
        const hi = Math.min(run.hi, position - 1);
        if (lo > hi) continue;
        const split = Math.max(lo, seriesStart);
        if (split <= hi) best = Math.min(best, any.min(split - f, hi - f));
        if (lo < split) best = Math.min(best, leaving.min(lo - f, Math.min(hi, split - 1) - f));
      }
      if (best !== Number.POSITIVE_INFINITY) {
        const reachedIn = Math.floor(best / length) + 1;
        const key = reachedIn * length + (length - 1 - p);
        steps[p] = reachedIn;
        predecessor[p] = length - 1 - (best % length);
        any.set(p, key);
        if (exits[p] === 1 || isRequired) leaving.set(p, key);
      }
    }
    if (isRequired || p === length - 1) {
      if (steps[p] === -1) throw unreachable(index, exits, f, t, f + floor, position, steps);
      if (isRequired) {
        floor = p;
        nextRequired++;
      }
    }
  }

  const path: number[] = [];
  for (let p = length - 1; p > 0; p = predecessor[p] as number) path.push(f + p);
  return path.reverse();
}

/**
 * A path into an entry release (`upgradeFrom: none`): its lineage starts anew, so no migration
 * leads into it from an older release. The way there is a fresh install, a copy of the data and
 * `baseline` — never a wider upgradeFrom, which would promise a jump the application cannot make.
 */
export class NewLineageError extends RefusedError {
  /** The entry release that starts the lineage the target belongs to. */
  readonly entry: string;

  constructor(from: Release, to: Release, entry: Release) {
    const then = to === entry ? '' : `, then upgrade to ${to.id}`;
    super(
      `no path from ${from.id} to ${to.id}: ${entry.id} starts a new lineage: install it fresh, copy the data, baseline${then}`,
      {
        hint:
          `install ${entry.id} into a new database, copy the data across, then record it: ${nextCommand('baseline', '--release', entry.id)}` +
          (to === entry ? '' : `; then plan from there: ${nextCommand('plan', '--from', entry.id, '--to', to.id)}`),
        details: { from: from.id, to: to.id, entry: entry.id },
      },
    );
    this.entry = entry.id;
  }
}

/**
 * The refusal for a release no path can enter: what it accepts and why none of that is usable.
 * When an entry release lies on the way, the lineage it starts is the reason, not a range.
 */
function unreachable(
  index: CatalogIndex,
  exits: Uint8Array,
  f: number,
  t: number,
  a: number,
  b: number,
  steps: Int32Array,
): RefusedError {
  const target = index.releases[b] as Release;
  const start = index.releases[f] as Release;
  for (let q = b; q > f; q--) {
    const release = index.releases[q] as Release;
    if (release.entry) return new NewLineageError(start, index.releases[t] as Release, release);
  }
  const accepts = target.upgradeFromIsDefault
    ? `${target.upgradeFrom} (default: only the previous release)`
    : target.upgradeFrom;
  const why: string[] = [];
  for (const run of index.admittedBy(b)) {
    for (let q = run.lo; q <= run.hi && why.length < 6; q++) {
      const release = index.releases[q] as Release;
      let reason: string;
      if (q < a)
        reason =
          q < f
            ? `older than ${start.id}, where the database is`
            : `older than the required stop ${(index.releases[a] as Release).id}`;
      else if (release.yanked) reason = 'yanked';
      else if (q !== f && !index.sameSeries(q, b) && exits[q - f] !== 1) reason = `not the newest patch of its series`;
      else if (steps[q - f] === -1) reason = `itself unreachable from ${start.id}`;
      else continue;
      why.push(`${release.id} (${reason})`);
    }
  }
  const admitted =
    why.length > 0 ? `; it admits ${why.join(', ')}` : '; no release of the catalog between them satisfies it';
  return new RefusedError(
    `no path from ${start.id} to ${(index.releases[t] as Release).id}: no path can enter ${target.id}${target.milestone ? ' (milestone)' : ''}, which accepts ${accepts}${admitted}`,
    {
      hint: `see the accepted ranges with: ${nextCommand('releases')}; to support this path, a release engineer widens upgradeFrom in ${target.file}`,
      details: {
        from: start.id,
        to: (index.releases[t] as Release).id,
        unenterable: target.id,
        accepts: target.upgradeFrom,
      },
    },
  );
}
