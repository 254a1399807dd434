import semver from 'semver';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/release.js';
import { ExitCode, LeapfrogError, NothingToDoError, RefusedError } from '../../src/errors/index.js';
import type { Plan } from '../../src/planner/plan.js';
import { planPath } from '../../src/planner/plan-path.js';
import { catalogBuilder, generatedCatalog, generatedId, slurpCatalog } from '../helpers/catalog-builder.js';

const stopsOf = (plan: Plan) => plan.steps.map((s) => s.release);

function refusal(fn: () => unknown): LeapfrogError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LeapfrogError) return error;
    throw error;
  }
  throw new Error('expected a LeapfrogError');
}

/** Every hop admitted, no yanked stop, every milestone series strictly between visited. */
function assertValid(catalog: Catalog, plan: Plan): void {
  let previous = plan.from.version;
  for (const step of plan.steps) {
    const release = catalog.releases.find((r) => r.id === step.release);
    expect(release, step.release).toBeDefined();
    expect(release?.yanked).toBe(false);
    expect(semver.satisfies(previous, release?.upgradeFrom ?? ''), `${step.release} accepts ${previous}`).toBe(true);
    expect(semver.gt(step.version, previous)).toBe(true);
    previous = step.version;
  }
  expect(previous).toBe(plan.to.version);
}

describe('planPath on the SLURP cadence', () => {
  const catalog = slurpCatalog();

  it('2023.1 -> 2025.1 is [2024.1, 2025.1] with reasons', () => {
    const plan = planPath(catalog, '2023.1', '2025.1');
    expect(stopsOf(plan)).toEqual(['2024.1', '2025.1']);
    expect(plan.steps[0]?.reasons).toEqual([
      { kind: 'milestone' },
      { kind: 'accepts', range: '>=2023.1.0 <2024.1.0', previous: '2023.1' },
    ]);
    expect(plan.steps[1]?.reasons).toEqual([
      { kind: 'accepts', range: '>=2024.1.0 <2025.1.0', previous: '2024.1' },
      { kind: 'target' },
    ]);
    expect(plan.from).toEqual({ release: '2023.1', version: '2023.1.0' });
    expect(plan.to).toEqual({ release: '2025.1', version: '2025.1.0' });
    expect(plan.catalogDigest).toBe(catalog.digest);
    expect(plan.steps.every((s) => s.imageDigest === null)).toBe(true);
    expect(plan.steps[0]?.manifestDigest).toBe(catalog.releases[2]?.manifestDigest);
  });

  it('2023.2 -> 2024.2 is [2024.1, 2024.2]', () => {
    expect(stopsOf(planPath(catalog, '2023.2', '2024.2'))).toEqual(['2024.1', '2024.2']);
  });

  it('a SLURP jump skips the release between: 2023.1 -> 2024.1 is one step', () => {
    expect(stopsOf(planPath(catalog, '2023.1', '2024.1'))).toEqual(['2024.1']);
  });

  it('accepts versions as well as ids', () => {
    expect(stopsOf(planPath(catalog, '2023.1.0', 'v2025.1.0'))).toEqual(['2024.1', '2025.1']);
  });

  it('every pair is either a valid plan or a typed refusal', () => {
    for (const a of catalog.releases) {
      for (const b of catalog.releases) {
        if (semver.gt(b.version, a.version)) assertValid(catalog, planPath(catalog, a.id, b.id));
        else expect(() => planPath(catalog, a.id, b.id)).toThrow(LeapfrogError);
      }
    }
  });
});

describe('planPath refusals', () => {
  const catalog = slurpCatalog();

  it('refuses a downgrade with exit 5 and the backup hint', () => {
    const error = refusal(() => planPath(catalog, '2024.1', '2023.1'));
    expect(error).toBeInstanceOf(RefusedError);
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.hint).toBe(
      'leapfrog is forward-only; restore the backup taken before you upgraded (leapfrog backups)',
    );
  });

  it('same release is nothing to do (exit 0)', () => {
    const error = refusal(() => planPath(catalog, '2024.1', '2024.1.0'));
    expect(error).toBeInstanceOf(NothingToDoError);
    expect(error.exitCode).toBe(0);
  });

  it('an unknown release is bad input naming the nearest ids', () => {
    const error = refusal(() => planPath(catalog, '2023.1', '2025.2'));
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.message).toContain('unknown release "2025.2"');
    expect(error.message).toMatch(/nearest known: 2025\.1/);
    expect(error.hint).toContain('leapfrog releases');
  });

  it('an unreachable target names the release no path can enter and what it accepts', () => {
    const broken = catalogBuilder()
      .release('1.0', { milestone: true })
      .release('1.1')
      .release('1.2')
      .release('2.0', { upgradeFrom: '>=1.2.0 <2.0.0' })
      .release('2.1', { upgradeFrom: '>=1.0.0 <1.2.0' }) // skips 2.0: only older releases than from
      .build();
    const error = refusal(() => planPath(broken, '2.0', '2.1'));
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toContain('no path can enter 2.1');
    expect(error.message).toContain('>=1.0.0 <1.2.0');
    expect(error.message).toContain('1.0 (older than 2.0, where the database is)');
    expect(error.hint).toContain('/catalog/2.1/release.yaml');
  });

  it('an unreachable milestone in the middle is named, not the target', () => {
    const broken = catalogBuilder()
      .release('1.0')
      .release('1.1')
      .release('2.0', { milestone: true, upgradeFrom: '>=1.1.0 <2.0.0' })
      .release('3.0', { upgradeFrom: '>=1.0.0 <3.0.0' })
      .release('1.2', { yanked: true })
      .build();
    // 2.0 accepts 1.1 and 1.2; from 1.0, 1.1 is not the newest patch of 1.x... but 1.2 is yanked,
    // so 1.1 is the exit of the 1 series and the path is 1.1 -> 2.0 -> 3.0.
    expect(stopsOf(planPath(broken, '1.0', '3.0'))).toEqual(['1.1', '2.0', '3.0']);
    const strict = catalogBuilder()
      .release('1.0')
      .release('1.1', { upgradeFrom: '>=0.9.0 <1.0.0' })
      .release('2.0', { milestone: true, upgradeFrom: '>=1.1.0 <2.0.0' })
      .release('3.0', { upgradeFrom: '>=1.0.0 <3.0.0' })
      .release('0.9')
      .build();
    const error = refusal(() => planPath(strict, '1.0', '3.0'));
    expect(error.message).toContain('no path can enter 2.0 (milestone)');
    expect(error.message).toContain('1.1 (itself unreachable from 1.0)');
  });

  it('a yanked target is refused, suggesting the newest good patch of its series', () => {
    const catalog2 = catalogBuilder()
      .release('1.0.0')
      .release('1.1.0')
      .release('1.1.1', { yanked: true })
      .release('1.1.2', { yanked: true })
      .build();
    const error = refusal(() => planPath(catalog2, '1.0.0', '1.1.2'));
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toContain('1.1.2 is yanked');
    expect(error.hint).toBe('plan to 1.1.0 instead: leapfrog plan --from 1.0.0 --to 1.1.0');
  });
});

describe('planPath with patches and yanked releases', () => {
  // 2024.1 is a milestone with three patches; each patch accepts what 2024.1.0 accepts plus the
  // earlier patches, as a release engineer would write it.
  const patched = (fields: { yank?: string[]; milestoneOn?: string } = {}) =>
    catalogBuilder()
      .release('2023.1.0', { milestone: true })
      .release('2023.2.0')
      .release('2024.1.0', {
        milestone: fields.milestoneOn === undefined || fields.milestoneOn === '2024.1.0',
        upgradeFrom: '>=2023.1.0 <2024.1.0',
        yanked: fields.yank?.includes('2024.1.0') ?? false,
      })
      .release('2024.1.1', {
        milestone: fields.milestoneOn === '2024.1.1',
        upgradeFrom: '>=2023.1.0 <2024.1.1',
        yanked: fields.yank?.includes('2024.1.1') ?? false,
      })
      .release('2024.1.2', { upgradeFrom: '>=2023.1.0 <2024.1.2', yanked: fields.yank?.includes('2024.1.2') ?? false })
      .release('2024.2.0', { upgradeFrom: '>=2024.1.0 <2024.2.0' })
      .release('2025.1.0', { milestone: true, upgradeFrom: '>=2024.1.0 <2025.1.0' })
      .build();

  it('a milestone resolves to the newest patch of its series, naming the milestone it stands for', () => {
    const plan = planPath(patched(), '2023.1.0', '2025.1.0');
    expect(stopsOf(plan)).toEqual(['2024.1.2', '2025.1.0']);
    expect(plan.steps[0]?.reasons[0]).toEqual({ kind: 'milestone', milestone: '2024.1.0' });
  });

  it('a yanked newest patch falls back to the newest good one', () => {
    expect(stopsOf(planPath(patched({ yank: ['2024.1.2'] }), '2023.1.0', '2025.1.0'))).toEqual([
      '2024.1.1',
      '2025.1.0',
    ]);
  });

  it('a yanked milestone release is still a required series, visited at its good patch', () => {
    expect(stopsOf(planPath(patched({ yank: ['2024.1.0'] }), '2023.2.0', '2025.1.0'))).toEqual([
      '2024.1.2',
      '2025.1.0',
    ]);
  });

  it('a milestone whose every newer patch is yanked is refused (exit 5) naming it', () => {
    const error = refusal(() =>
      planPath(patched({ milestoneOn: '2024.1.1', yank: ['2024.1.1', '2024.1.2'] }), '2023.1.0', '2025.1.0'),
    );
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toContain('milestone 2024.1.1 must be visited');
    expect(error.message).toContain('series 2024.1 are yanked');
  });

  it('the database may be on a yanked release', () => {
    expect(stopsOf(planPath(patched({ yank: ['2024.1.0'] }), '2024.1.0', '2024.2.0'))).toEqual(['2024.2.0']);
  });

  it('the target keeps the exact patch asked for', () => {
    expect(stopsOf(planPath(patched(), '2023.1.0', '2024.1.1'))).toEqual(['2024.1.1']);
  });

  it("leaving the database's own series directly is allowed", () => {
    // From 2024.1.0 to 2024.2.0: 2024.2.0 accepts 2024.1.0 directly, no need to visit 2024.1.2.
    expect(stopsOf(planPath(patched(), '2024.1.0', '2024.2.0'))).toEqual(['2024.2.0']);
  });

  it('default edges walk every patch of a series to its newest one', () => {
    const catalog = catalogBuilder()
      .release('1.0.0')
      .release('1.1.0', { milestone: true, upgradeFrom: '1.0.0' })
      .release('1.1.1')
      .release('1.1.2')
      .release('1.2.0', { upgradeFrom: '>=1.1.0 <1.2.0' })
      .build();
    // 1.1.1 and 1.1.2 default to "exactly the previous release", so the newest patch can only be
    // entered by walking; the path still leaves the series from its newest patch.
    expect(stopsOf(planPath(catalog, '1.0.0', '1.2.0'))).toEqual(['1.1.0', '1.1.1', '1.1.2', '1.2.0']);
  });
});

describe('planPath defaults and ties', () => {
  it('default edges: every release accepts only the previous one', () => {
    const catalog = catalogBuilder().releases(['1.0', '1.1', '1.2', '1.3']).build();
    const plan = planPath(catalog, '1.0', '1.3');
    expect(stopsOf(plan)).toEqual(['1.1', '1.2', '1.3']);
    expect(plan.steps[2]?.reasons).toEqual([{ kind: 'accepts', range: '1.2.0', previous: '1.2' }, { kind: 'target' }]);
  });

  it('a wide range jumps over releases that are not milestones', () => {
    const catalog = catalogBuilder()
      .releases(['1.0', '1.1', '1.2'])
      .release('1.3', { upgradeFrom: '>=1.0.0 <1.3.0' })
      .build();
    expect(stopsOf(planPath(catalog, '1.0', '1.3'))).toEqual(['1.3']);
  });

  it('among equally short paths the newest predecessor wins, every time', () => {
    const catalog = catalogBuilder()
      .release('1.0')
      .release('1.1', { upgradeFrom: '1.0.0' })
      .release('1.2', { upgradeFrom: '1.0.0' })
      .release('1.3', { upgradeFrom: '>=1.1.0 <1.3.0' })
      .release('1.4', { upgradeFrom: '>=1.1.0 <1.4.0' })
      .build();
    const first = planPath(catalog, '1.0', '1.4');
    expect(stopsOf(first)).toEqual(['1.2', '1.4']);
    for (let i = 0; i < 5; i++) expect(planPath(catalog, '1.0', '1.4')).toEqual(first);
  });

  it('ranges with || and x-ranges are honoured', () => {
    const catalog = catalogBuilder()
      .releases(['1.0', '1.1', '1.2'])
      .release('2.0', { upgradeFrom: '1.0.x || >=1.2.0 <2.0.0' })
      .build();
    expect(stopsOf(planPath(catalog, '1.0', '2.0'))).toEqual(['2.0']);
    expect(stopsOf(planPath(catalog, '1.1', '2.0'))).toEqual(['1.2', '2.0']);
  });

  it('prerelease versions only satisfy ranges that name their tuple', () => {
    const catalog = catalogBuilder()
      .release('1.0', { version: '1.0.0' })
      .release('1.1-rc', { version: '1.1.0-rc.1' })
      .release('1.1', { version: '1.1.0', upgradeFrom: '>=1.0.0 <1.1.0' })
      .build();
    // semver: 1.1.0-rc.1 does not satisfy ">=1.0.0 <1.1.0", so from the rc there is no path.
    expect(stopsOf(planPath(catalog, '1.0', '1.1'))).toEqual(['1.1']);
    expect(refusal(() => planPath(catalog, '1.1-rc', '1.1')).exitCode).toBe(ExitCode.refused);
  });
});

describe('planPath on a catalog of several thousand releases', () => {
  const count = 3000;
  const catalog = generatedCatalog(count, 3);

  it('visits every milestone between and only those', () => {
    const plan = planPath(catalog, generatedId(1), generatedId(count - 1));
    assertValid(catalog, plan);
    const milestones = catalog.releases
      .slice(2, count - 1)
      .filter((r) => r.milestone)
      .map((r) => r.id);
    // From each milestone the target-side releases are reached by default edges.
    expect(stopsOf(plan).slice(0, milestones.length)).toEqual(milestones);
    expect(stopsOf(plan).slice(milestones.length)).toEqual([generatedId(count - 2), generatedId(count - 1)]);
  });

  it('plans across the whole catalog through all 1000 milestones', () => {
    const plan = planPath(catalog, generatedId(0), generatedId(count - 1));
    assertValid(catalog, plan);
    expect(plan.steps.filter((s) => s.reasons.some((r) => r.kind === 'milestone'))).toHaveLength(count / 3 - 1);
  });
});

describe('planPath agrees with a brute-force search', () => {
  it('on 60 random catalogs of 24 releases, every pair', () => {
    const random = seeded(20240101);
    let plans = 0;
    let refusals = 0;
    for (let round = 0; round < 60; round++) {
      const builder = catalogBuilder();
      for (let i = 0; i < 24; i++) {
        const older = Math.floor(random() * Math.max(i, 1));
        const wide = i > 0 && random() < 0.5;
        builder.release(generatedId(i), {
          milestone: random() < 0.2,
          yanked: random() < 0.1,
          ...(wide ? { upgradeFrom: `>=${generatedId(older)}.0 <${generatedId(i)}.0` } : {}),
        });
      }
      const catalog = builder.build();
      const admits = catalog.releases.map((v) =>
        catalog.releases.map((u) => semver.satisfies(u.version, v.upgradeFrom)),
      );
      for (let a = 0; a < 24; a++) {
        for (let b = a + 1; b < 24; b++) {
          const expected = bruteForceSteps(catalog, a, b, admits);
          if (expected === -1) {
            expect(() => planPath(catalog, generatedId(a), generatedId(b))).toThrow(RefusedError);
            refusals++;
          } else {
            const plan = planPath(catalog, generatedId(a), generatedId(b));
            assertValid(catalog, plan);
            expect(plan.steps.length, `${generatedId(a)} -> ${generatedId(b)} in round ${round}`).toBe(expected);
            plans++;
          }
        }
      }
    }
    // Both outcomes must be exercised for the comparison to mean anything.
    expect(plans).toBeGreaterThan(400);
    expect(refusals).toBeGreaterThan(400);
  });
});

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fewest steps by plain BFS with pairwise semver tests; a path may not pass a milestone without
 * stopping on it. One release per series here, so the patch rules do not apply. -1: no path, or a
 * milestone strictly between is yanked.
 */
function bruteForceSteps(catalog: Catalog, from: number, to: number, admits?: boolean[][]): number {
  const releases = catalog.releases;
  const required: number[] = [];
  for (let i = from + 1; i < to; i++) if (releases[i]?.milestone) required.push(i);
  if (required.some((i) => releases[i]?.yanked)) return -1;
  const distance = new Map<number, number>([[from, 0]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as number;
    const nextRequired = required.find((r) => r > u) ?? to;
    for (let v = u + 1; v <= nextRequired; v++) {
      if (distance.has(v) || releases[v]?.yanked) continue;
      const admitted = admits
        ? admits[v]?.[u]
        : semver.satisfies(releases[u]?.version ?? '', releases[v]?.upgradeFrom ?? '');
      if (!admitted) continue;
      distance.set(v, (distance.get(u) as number) + 1);
      queue.push(v);
    }
  }
  return distance.get(to) ?? -1;
}
