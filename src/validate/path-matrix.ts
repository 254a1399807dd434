import type { Catalog } from '../catalog/release.js';
import { LeapfrogError } from '../errors/index.js';
import { NewLineageError, planPath } from '../planner/plan-path.js';

/** The planned path of one (from, to) pair, or why there is none. */
export interface PairPath {
  from: string;
  to: string;
  /** The stops, in order, ending with `to`; null when no path exists. */
  steps: string[] | null;
  /** Why there is no path (the planner's refusal), null when there is one or it is a new lineage. */
  error: string | null;
  /**
   * The entry release (`upgradeFrom: none`) that starts `to`'s lineage, when no path exists
   * because of it: intended, not a problem (the way there is a fresh install, then baseline).
   */
  newLineage: string | null;
}

/**
 * Every pair a release engineer supports: from each non-yanked release to each newer
 * non-yanked release. Yanked releases are neither targets (the planner refuses them) nor
 * supported starting points. Entry releases are starting points like any other; a pair whose
 * path would have to enter one is kept, marked as a new lineage. Pure: the planner does no I/O.
 */
export function pathMatrix(catalog: Catalog): PairPath[] {
  const supported = catalog.releases.filter((r) => !r.yanked);
  const pairs: PairPath[] = [];
  supported.forEach((from, i) => {
    for (const to of supported.slice(i + 1)) {
      try {
        const plan = planPath(catalog, from.id, to.id);
        const steps = plan.steps.map((s) => s.release);
        pairs.push({ from: from.id, to: to.id, steps, error: null, newLineage: null });
      } catch (error) {
        if (error instanceof NewLineageError) {
          pairs.push({ from: from.id, to: to.id, steps: null, error: null, newLineage: error.entry });
          continue;
        }
        if (!(error instanceof LeapfrogError)) throw error;
        pairs.push({ from: from.id, to: to.id, steps: null, error: error.message, newLineage: null });
      }
    }
  });
  return pairs;
}

/**
 * A from x to grid: the number of steps, `-` below the diagonal, `✗` where no path exists and
 * `lineage` where the target lies in a newer lineage (reached by a fresh install, not a path).
 */
export function formatMatrix(catalog: Catalog, pairs: readonly PairPath[]): string {
  const ids = catalog.releases.filter((r) => !r.yanked).map((r) => r.id);
  const byPair = new Map(pairs.map((p) => [`${p.from}\u0000${p.to}`, p]));
  const width = Math.max(9, ...ids.map((id) => id.length)) + 2;
  const lines = [`${'from \\ to'.padEnd(width)}${ids.map((id) => id.padStart(width)).join('')}`];
  for (const from of ids) {
    const cells = ids.map((to) => {
      const pair = byPair.get(`${from}\u0000${to}`);
      const text =
        pair === undefined
          ? '-'
          : pair.newLineage !== null
            ? 'lineage'
            : pair.steps === null
              ? '✗'
              : `${pair.steps.length} step${pair.steps.length === 1 ? '' : 's'}`;
      return text.padStart(width);
    });
    lines.push(`${from.padEnd(width)}${cells.join('')}`);
  }
  lines.push('');
  for (const pair of pairs) {
    lines.push(
      pair.newLineage !== null
        ? `${pair.from} -> ${pair.to}: new lineage at ${pair.newLineage} (install it fresh, copy the data, baseline)`
        : pair.steps === null
          ? `${pair.from} -> ${pair.to}: NO PATH: ${pair.error ?? ''}`
          : `${pair.from} -> ${pair.steps.join(' -> ')}`,
    );
  }
  return lines.join('\n');
}
