import semver from 'semver';
import type { Catalog, Release } from '../catalog/release.js';
import { seriesOf } from '../catalog/series.js';
import type { PairPath } from './path-matrix.js';
import type { ValidationProblem } from './validation-problem.js';

/**
 * Every supported pair without a path is a problem, reported on the target's manifest; a pair
 * that crosses into a newer lineage (an entry release) is intended and is not.
 */
export function reachabilityProblems(catalog: Catalog, pairs: readonly PairPath[]): ValidationProblem[] {
  const byId = new Map(catalog.releases.map((r) => [r.id, r]));
  return pairs
    .filter((p) => p.steps === null && p.newLineage === null)
    .map((p) => ({
      check: 'graph' as const,
      file: byId.get(p.to)?.file ?? p.to,
      where: `${p.from} -> ${p.to}`,
      message: `${p.to} is unreachable from ${p.from}: ${p.error ?? 'no path'}`,
    }));
}

/**
 * upgradeFrom ranges that contradict the milestones: a range that admits a release older than
 * a milestone lying between them promises a hop the planner will never take (the milestone
 * must be visited), which misleads whoever reads the manifest; a range that admits the release
 * itself or a newer one is a typo. Default ranges (the previous release) never contradict.
 */
export function milestoneProblems(catalog: Catalog): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const releases = catalog.releases;
  releases.forEach((release, i) => {
    if (release.upgradeFromIsDefault) return;
    const admitted = releases.filter((r) =>
      semver.satisfies(r.version, release.upgradeFrom, { includePrerelease: true }),
    );
    const selfOrNewer = admitted.filter((r) => semver.gte(r.version, release.version));
    if (selfOrNewer.length > 0) {
      problems.push({
        check: 'milestones',
        file: release.file,
        where: 'upgradeFrom',
        message: `"${release.upgradeFrom}" admits ${selfOrNewer.map((r) => r.id).join(', ')}, not older than ${release.id} itself; use an upper bound like <${release.version}`,
      });
    }
    const milestones = releases
      .slice(0, i)
      .filter((m) => m.milestone && seriesOf(m.version) !== seriesOf(release.version));
    for (const milestone of milestones) {
      const skipped = admitted.filter(
        (r) => semver.lt(r.version, milestone.version) && seriesOf(r.version) !== seriesOf(milestone.version),
      );
      if (skipped.length === 0) continue;
      problems.push({
        check: 'milestones',
        file: release.file,
        where: 'upgradeFrom',
        message: `"${release.upgradeFrom}" admits ${describe(skipped)}, older than milestone ${milestone.id}, which every path must visit; narrow it to >=${milestone.version}`,
      });
      break;
    }
  });
  return problems;
}

/**
 * No yanked targets: the newest release (the one operators upgrade to by default) must not be
 * yanked, every milestone series needs a non-yanked patch to stop at, and no saved plan may
 * stop at or target a yanked release.
 */
export function yankedProblems(
  catalog: Catalog,
  plans: readonly { file: string; steps: readonly string[] }[],
): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const newest = catalog.releases[catalog.releases.length - 1];
  if (newest?.yanked) {
    problems.push({
      check: 'yanked',
      file: newest.file,
      where: 'yanked',
      message: `${newest.id}, the newest release and default target, is yanked; publish a fixed release after it`,
    });
  }
  const seriesDone = new Set<string>();
  for (const milestone of catalog.releases.filter((r) => r.milestone)) {
    const series = seriesOf(milestone.version);
    if (seriesDone.has(series)) continue;
    seriesDone.add(series);
    const usable = catalog.releases.filter(
      (r) => seriesOf(r.version) === series && !r.yanked && semver.gte(r.version, milestone.version),
    );
    if (usable.length === 0) {
      problems.push({
        check: 'yanked',
        file: milestone.file,
        where: 'yanked',
        message: `milestone ${milestone.id} and every newer patch of series ${series} are yanked: no path can pass this required stop; publish a fixed patch of ${series}`,
      });
    }
  }
  const yanked = new Map<string, Release>(catalog.releases.filter((r) => r.yanked).map((r) => [r.id, r]));
  for (const plan of plans) {
    for (const step of plan.steps) {
      if (yanked.has(step)) {
        problems.push({
          check: 'yanked',
          file: plan.file,
          where: 'steps',
          message: `stops at ${step}, which is yanked; re-plan it with leapfrog plan`,
        });
      }
    }
  }
  return problems;
}

function describe(releases: readonly Release[]): string {
  const ids = releases.map((r) => r.id);
  return ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
}
