import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_RANGE } from '../../src/catalog/release.js';
import { ExitCode, LeapfrogError, RefusedError } from '../../src/errors/index.js';
import { NewLineageError, planPath } from '../../src/planner/plan-path.js';
import { milestoneProblems, reachabilityProblems } from '../../src/validate/graph-checks.js';
import { formatMatrix, pathMatrix } from '../../src/validate/path-matrix.js';
import { validateCatalog } from '../../src/validate/validate-catalog.js';
import { catalogBuilder } from '../helpers/catalog-builder.js';

// Entry releases (`upgradeFrom: none`): a new lineage, reached by a fresh install and baseline.

function refusal(fn: () => unknown): LeapfrogError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LeapfrogError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** Lineage 1.x, a rewrite 2.0 that cannot migrate 1.x, its patch 2.1 and 2.2; another rewrite 3.0. */
const lineages = () =>
  catalogBuilder()
    .release('1.0')
    .release('1.1')
    .release('2.0', { upgradeFrom: 'none' })
    .release('2.1')
    .release('2.2', { upgradeFrom: '>=2.0.0 <2.2.0' })
    .release('3.0', { upgradeFrom: 'none' })
    .release('3.1')
    .build();

describe('an entry release in the catalog', () => {
  it('admits no version and is marked as an entry, without an "admits no older release" problem', () => {
    const catalog = lineages();
    const entry = catalog.releases.find((r) => r.id === '2.0');
    expect(entry?.entry).toBe(true);
    expect(entry?.upgradeFrom).toBe(EMPTY_RANGE);
    expect(catalog.releases.find((r) => r.id === '2.1')?.upgradeFrom).toBe('2.0.0');
  });
});

describe('planPath and entry releases', () => {
  const catalog = lineages();

  it('refuses a path into an entry release with exit 5: install fresh, copy the data, baseline', () => {
    const error = refusal(() => planPath(catalog, '1.1', '2.0'));
    expect(error).toBeInstanceOf(NewLineageError);
    expect(error).toBeInstanceOf(RefusedError);
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toBe(
      'no path from 1.1 to 2.0: 2.0 starts a new lineage: install it fresh, copy the data, baseline',
    );
    expect(error.hint).toBe(
      'install 2.0 into a new database, copy the data across, then record it: leapfrog baseline --release 2.0',
    );
    expect(error.details).toEqual({ from: '1.1', to: '2.0', entry: '2.0' });
  });

  it('refuses a path through an entry release, naming it and the way on to the target', () => {
    const error = refusal(() => planPath(catalog, '1.0', '2.2'));
    expect(error).toBeInstanceOf(NewLineageError);
    expect(error.message).toContain(
      '2.0 starts a new lineage: install it fresh, copy the data, baseline, then upgrade to 2.2',
    );
    expect(error.hint).toContain('leapfrog baseline --release 2.0');
    expect(error.hint).toContain('leapfrog plan --from 2.0 --to 2.2');
  });

  it('names the lineage the target is in when several entry releases lie between', () => {
    const error = refusal(() => planPath(catalog, '1.0', '3.1'));
    expect((error as NewLineageError).entry).toBe('3.0');
    const fromSecondLineage = refusal(() => planPath(catalog, '2.1', '3.0'));
    expect((fromSecondLineage as NewLineageError).entry).toBe('3.0');
  });

  it('never suggests widening a range into an entry release', () => {
    for (const [from, to] of [
      ['1.1', '2.0'],
      ['1.0', '2.1'],
      ['1.1', '3.1'],
    ] as const) {
      const error = refusal(() => planPath(catalog, from, to));
      expect(`${error.message} ${error.hint}`).not.toMatch(/widen|upgradeFrom|release\.yaml/);
    }
  });

  it('plans paths that start at or after the entry release, and within the older lineage', () => {
    expect(planPath(catalog, '2.0', '2.2').steps.map((s) => s.release)).toEqual(['2.2']);
    expect(planPath(catalog, '2.0', '2.1').steps.map((s) => s.release)).toEqual(['2.1']);
    expect(planPath(catalog, '3.0', '3.1').steps.map((s) => s.release)).toEqual(['3.1']);
    expect(planPath(catalog, '1.0', '1.1').steps.map((s) => s.release)).toEqual(['1.1']);
  });

  it('a yanked entry release behaves as yanked', () => {
    const yanked = catalogBuilder()
      .release('1.0')
      .release('2.0', { upgradeFrom: 'none', yanked: true })
      .release('2.0.1', { version: '2.0.1', upgradeFrom: 'none' })
      .build();
    const error = refusal(() => planPath(yanked, '1.0', '2.0'));
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toContain('2.0 is yanked (a known-bad release) and cannot be a target');
    expect(pathMatrix(yanked).map((p) => `${p.from}->${p.to}`)).toEqual(['1.0->2.0.1']);
  });
});

describe('validate and entry releases', () => {
  it('the matrix marks pairs into a newer lineage as intended, and entry releases are sources', () => {
    const catalog = lineages();
    const pairs = pathMatrix(catalog);
    expect(pairs).toHaveLength((7 * 6) / 2);
    expect(pairs.find((p) => p.from === '1.1' && p.to === '2.1')).toEqual({
      from: '1.1',
      to: '2.1',
      steps: null,
      error: null,
      newLineage: '2.0',
    });
    expect(pairs.find((p) => p.from === '2.0' && p.to === '2.2')?.steps).toEqual(['2.2']);
    expect(pairs.find((p) => p.from === '2.2' && p.to === '3.1')?.newLineage).toBe('3.0');
    expect(pairs.filter((p) => p.steps === null && p.newLineage === null)).toEqual([]);
    expect(reachabilityProblems(catalog, pairs)).toEqual([]);
    expect(milestoneProblems(catalog)).toEqual([]);
    const text = formatMatrix(catalog, pairs);
    expect(text).toContain('1.1 -> 2.1: new lineage at 2.0 (install it fresh, copy the data, baseline)');
    expect(text).toMatch(/^1\.0 +- +1 step +lineage/m);
    expect(text).not.toContain('NO PATH');
  });

  it('a real unreachable release is still a problem next to an entry release', () => {
    const catalog = catalogBuilder()
      .release('1.0')
      .release('1.1', { yanked: true })
      .release('1.2', { upgradeFrom: '1.1.0' })
      .release('2.0', { upgradeFrom: 'none' })
      .build();
    const problems = reachabilityProblems(catalog, pathMatrix(catalog));
    expect(problems.map((p) => p.where)).toEqual(['1.0 -> 1.2']);
  });

  it('validate finds no problem in a catalog of two lineages written with catalog.yaml defaults', async () => {
    const dir = join(resolve(import.meta.dirname, '../..'), 'test/fixtures/catalogs/lineages');
    const report = await validateCatalog({ catalogDir: dir, plansDir: join(dir, 'no-plans') });
    expect(report.problems).toEqual([]);
    expect(report.releases).toEqual(['1.0', '1.1', '2.0', '2.1']);
    const graph = report.cases.filter((c) => c.check === 'graph');
    expect(graph).toHaveLength(6);
    expect(graph.every((c) => c.failures.length === 0)).toBe(true);
    // catalog.yaml is linted as a file of its own, beside the four manifests.
    expect(report.cases.filter((c) => c.check === 'lint').map((c) => c.name.split('lineages/')[1])).toEqual([
      '1.0/release.yaml',
      '1.1/release.yaml',
      '2.0/release.yaml',
      '2.1/release.yaml',
      'catalog.yaml',
    ]);
    expect(graph.find((c) => c.name === '1.1 -> 2.1')?.output).toBe(
      '2.1 is in the lineage 2.0 starts: install it fresh, copy the data, baseline',
    );
  });
});
