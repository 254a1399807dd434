import { describe, expect, it } from 'vitest';
import { CheckRedError } from '../../src/errors/index.js';
import type { FleetGroup } from '../../src/fleet/fleet-file.js';
import {
  scheduleFleet,
  type FleetEvent,
  type ScheduledTarget,
  type TargetRunner,
  type WalkOutcome,
} from '../../src/fleet/schedule.js';

const group = (name: string, more: Partial<FleetGroup> = {}): FleetGroup => ({
  name,
  match: [],
  dependsOn: [],
  parallel: 1,
  onError: 'fail',
  ...more,
});

interface Walk {
  target: string;
  to: string;
  start: number;
  end: number;
}

/**
 * A recording fake: each walk takes `delayMs` (real timers, so concurrency is real), fails where
 * `failures` says, and records when it started and ended on a logical clock.
 */
class RecordingRunner implements TargetRunner<ScheduledTarget> {
  readonly walks: Walk[] = [];
  running = 0;
  maxRunning = 0;
  private clock = 0;

  constructor(
    private readonly failures: Record<string, string> = {},
    private readonly delayMs = 5,
  ) {}

  async walk(target: ScheduledTarget, to: string): Promise<WalkOutcome> {
    const walk: Walk = { target: target.name, to, start: this.clock++, end: -1 };
    this.walks.push(walk);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.running--;
    walk.end = this.clock++;
    const failure = this.failures[`${target.name}@${to}`] ?? this.failures[target.name];
    if (failure === 'throw') throw new Error(`${target.name} blew up`);
    if (failure !== undefined) {
      return {
        ok: false,
        release: failure,
        exitCode: 3,
        error: new CheckRedError(`${target.name} red`, { hint: 'fix' }),
      };
    }
    return { ok: true, release: to, exitCode: 0, error: null };
  }
}

const openstack: ScheduledTarget[] = [
  { name: 'cell1', group: 'cells' },
  { name: 'cell2', group: 'cells' },
  { name: 'identity', group: 'identity' },
  { name: 'api', group: 'api' },
];
const openstackGroups = [
  group('identity'),
  group('api', { dependsOn: ['identity'] }),
  group('cells', { parallel: 2, dependsOn: ['api'] }),
];
const STOPS = ['2024.1', '2024.2', '2025.1'];

describe('lockstep', () => {
  it('takes every target to release k, in group order, before any starts k+1', async () => {
    const runner = new RecordingRunner();
    const result = await scheduleFleet({
      targets: openstack,
      groups: openstackGroups,
      runner,
      to: '2025.1',
      lockstep: { stops: STOPS, needs: () => true },
    });
    expect(result.exitCode).toBe(0);
    expect(result.targets.map((t) => [t.target, t.state, t.release])).toEqual([
      ['cell1', 'done', '2025.1'],
      ['cell2', 'done', '2025.1'],
      ['identity', 'done', '2025.1'],
      ['api', 'done', '2025.1'],
    ]);
    for (const [k, release] of STOPS.entries()) {
      const atK = runner.walks.filter((w) => w.to === release);
      expect(atK.map((w) => w.target).slice(0, 2)).toEqual(['identity', 'api']);
      const next = runner.walks.filter((w) => w.to === STOPS[k + 1]);
      // Nothing starts k+1 before every walk to k has ended.
      for (const n of next) for (const w of atK) expect(n.start).toBeGreaterThan(w.end);
      // The API before the cells.
      const api = atK.find((w) => w.target === 'api');
      for (const cell of atK.filter((w) => w.target.startsWith('cell')))
        expect(cell.start).toBeGreaterThan(api?.end ?? 0);
    }
    expect(runner.maxRunning).toBe(2); // the two cells together, never more
  });

  it('skips a target that does not need a release and counts it done when it needs none', async () => {
    const runner = new RecordingRunner();
    const targets: ScheduledTarget[] = [
      { name: 'a', group: 'all' },
      { name: 'b', group: 'all', current: '2025.1' },
    ];
    const result = await scheduleFleet({
      targets,
      groups: [group('all')],
      runner,
      to: '2025.1',
      lockstep: { stops: STOPS, needs: (t, r) => t.name === 'a' && r !== '2024.2' },
    });
    expect(runner.walks.map((w) => `${w.target}@${w.to}`)).toEqual(['a@2024.1', 'a@2025.1']);
    expect(result.targets.map((t) => [t.state, t.release])).toEqual([
      ['done', '2025.1'],
      ['done', '2025.1'],
    ]);
  });

  it('onError fail: a failed target stops the fleet at that release; nothing new starts', async () => {
    const runner = new RecordingRunner({ 'api@2024.2': '2024.1' });
    const events: FleetEvent[] = [];
    const result = await scheduleFleet({
      targets: openstack,
      groups: openstackGroups,
      runner,
      to: '2025.1',
      lockstep: { stops: STOPS, needs: () => true },
      onEvent: (e) => events.push(e),
    });
    expect(runner.walks.map((w) => `${w.target}@${w.to}`)).toEqual([
      'identity@2024.1',
      'api@2024.1',
      'cell1@2024.1',
      'cell2@2024.1',
      'identity@2024.2',
      'api@2024.2',
    ]);
    expect(result.exitCode).toBe(3);
    expect(result.stoppedAt).toBe('2024.2');
    const api = result.targets.find((t) => t.target === 'api');
    expect(api).toMatchObject({ state: 'failed', release: '2024.1', failedAt: '2024.2', exitCode: 3 });
    expect(result.targets.find((t) => t.target === 'cell1')).toMatchObject({ state: 'stopped', release: '2024.1' });
    expect(events.at(-1)).toMatchObject({ type: 'fleet-stopped', release: '2024.2' });
  });

  it('onError continue: the rest of the group (and release) finishes, then the fleet stops', async () => {
    const runner = new RecordingRunner({ 'cell1@2024.2': '2024.1' });
    const groups = [
      group('identity'),
      group('api', { dependsOn: ['identity'] }),
      group('cells', { parallel: 1, onError: 'continue', dependsOn: ['api'] }),
    ];
    const result = await scheduleFleet({
      targets: openstack,
      groups,
      runner,
      to: '2025.1',
      lockstep: { stops: STOPS, needs: () => true },
    });
    expect(runner.walks.filter((w) => w.to === '2024.2').map((w) => w.target)).toEqual([
      'identity',
      'api',
      'cell1',
      'cell2',
    ]);
    expect(runner.walks.some((w) => w.to === '2025.1')).toBe(false);
    expect(result.targets.map((t) => t.state)).toEqual(['failed', 'stopped', 'stopped', 'stopped']);
    expect(result.exitCode).toBe(3);
  });
});

describe('independent walks', () => {
  const tenants: ScheduledTarget[] = [
    { name: 'canary', group: 'canary' },
    ...Array.from({ length: 10 }, (_, i) => ({ name: `t${i}`, group: 'tenants' })),
  ];
  const groups = [group('canary'), group('tenants', { parallel: 3, dependsOn: ['canary'] })];

  it('walks the canary first, then at most `parallel` at a time, each straight to R', async () => {
    const runner = new RecordingRunner();
    const result = await scheduleFleet({ targets: tenants, groups, runner, to: '2025.1', lockstep: null });
    expect(result.exitCode).toBe(0);
    expect(runner.walks[0]?.target).toBe('canary');
    const canaryEnd = runner.walks[0]?.end ?? 0;
    for (const w of runner.walks.slice(1)) expect(w.start).toBeGreaterThan(canaryEnd);
    expect(new Set(runner.walks.map((w) => w.to))).toEqual(new Set(['2025.1']));
    expect(runner.maxRunning).toBe(3);
  });

  it('--parallel overrides the groups', async () => {
    const runner = new RecordingRunner();
    await scheduleFleet({ targets: tenants, groups, runner, to: '2025.1', lockstep: null, parallel: 5 });
    expect(runner.maxRunning).toBe(5);
  });

  it('a failed canary (onError fail) starts nothing else', async () => {
    const runner = new RecordingRunner({ canary: '2024.1' });
    const result = await scheduleFleet({ targets: tenants, groups, runner, to: '2025.1', lockstep: null });
    expect(runner.walks.map((w) => w.target)).toEqual(['canary']);
    expect(result.exitCode).toBe(3);
    expect(result.targets.filter((t) => t.state === 'stopped')).toHaveLength(10);
  });

  it('onError continue: a failing (even throwing) tenant never takes the others down', async () => {
    const runner = new RecordingRunner({ t2: 'throw', t5: '2024.1' });
    const continuing = [group('canary'), group('tenants', { parallel: 3, dependsOn: ['canary'], onError: 'continue' })];
    const result = await scheduleFleet({ targets: tenants, groups: continuing, runner, to: '2025.1', lockstep: null });
    expect(runner.walks).toHaveLength(11);
    expect(result.targets.filter((t) => t.state === 'done')).toHaveLength(9);
    expect(result.targets.find((t) => t.target === 't2')).toMatchObject({ state: 'failed', exitCode: 1 });
    expect(result.targets.find((t) => t.target === 't2')?.error?.message).toBe('t2 blew up');
    expect(result.exitCode).toBe(3); // the worst of 1 and 3
  });

  it('an aborted signal starts nothing new, and the fleet exits 130', async () => {
    const controller = new AbortController();
    const runner = new RecordingRunner();
    const result = await scheduleFleet({
      targets: tenants,
      groups,
      runner,
      to: '2025.1',
      lockstep: null,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'target-finished' && e.target === 't1') controller.abort();
      },
    });
    expect(runner.walks.length).toBeLessThan(11);
    expect(result.exitCode).toBe(130);
  });
});

describe('groups that do not depend on each other', () => {
  // Two regions: each its own canary and tenants; nothing ties one region to the other.
  const targets: ScheduledTarget[] = [
    { name: 'eu-canary', group: 'eu-canary' },
    { name: 'us-canary', group: 'us-canary' },
    ...['eu1', 'eu2', 'eu3'].map((name) => ({ name, group: 'eu' })),
    ...['us1', 'us2', 'us3'].map((name) => ({ name, group: 'us' })),
  ];
  const groups = [
    group('eu-canary'),
    group('us-canary'),
    group('eu', { dependsOn: ['eu-canary'], parallel: 2 }),
    group('us', { dependsOn: ['us-canary'], parallel: 2 }),
  ];
  const walk = (runner: RecordingRunner, target: string, to = '2025.1') =>
    runner.walks.find((w) => w.target === target && w.to === to) as Walk;

  it('run at the same time, each within its own parallel; a group waits only for its own dependencies', async () => {
    const runner = new RecordingRunner({}, 20);
    const result = await scheduleFleet({ targets, groups, runner, to: '2025.1', lockstep: null });
    expect(result.exitCode).toBe(0);
    // The two canaries together (one after the other, the second would start after the first ended).
    expect(walk(runner, 'us-canary').start).toBeLessThan(walk(runner, 'eu-canary').end);
    // Each region's tenants after its own canary, and at most 2 + 2 at once.
    for (const t of ['eu1', 'eu2', 'eu3']) expect(walk(runner, t).start).toBeGreaterThan(walk(runner, 'eu-canary').end);
    for (const t of ['us1', 'us2', 'us3']) expect(walk(runner, t).start).toBeGreaterThan(walk(runner, 'us-canary').end);
    expect(walk(runner, 'us1').start).toBeLessThan(walk(runner, 'eu1').end);
    expect(runner.maxRunning).toBe(4);
  });

  it('in lockstep too, release by release; a red canary (onError fail) stops both regions', async () => {
    const runner = new RecordingRunner({}, 20);
    const stops = ['2024.1', '2025.1'];
    const result = await scheduleFleet({
      targets,
      groups,
      runner,
      to: '2025.1',
      lockstep: { stops, needs: () => true },
    });
    expect(result.exitCode).toBe(0);
    expect(walk(runner, 'us-canary', '2024.1').start).toBeLessThan(walk(runner, 'eu-canary', '2024.1').end);
    const at2024 = runner.walks.filter((w) => w.to === '2024.1');
    for (const w of runner.walks.filter((x) => x.to === '2025.1'))
      for (const before of at2024) expect(w.start).toBeGreaterThan(before.end);

    const red = new RecordingRunner({ 'eu-canary@2024.1': '2023.1' }, 20);
    const stopped = await scheduleFleet({
      targets,
      groups,
      runner: red,
      to: '2025.1',
      lockstep: { stops, needs: () => true },
    });
    expect(stopped.exitCode).toBe(3);
    expect(stopped.stoppedAt).toBe('2024.1');
    // The us canary was already running beside it (it finishes, never killed); no tenant started.
    expect(red.walks.map((w) => w.target).sort()).toEqual(['eu-canary', 'us-canary']);
  });
});
