import { describe, expect, it } from 'vitest';
import type { Catalog, Release } from '../../src/catalog/release.js';
import {
  CheckRedError,
  InterruptedError,
  PhaseFailedError,
  RefusedError,
  StalePlanError,
  BadInputError,
} from '../../src/errors/index.js';
import type { Plan } from '../../src/planner/plan.js';
import type { RunnerEvent } from '../../src/runner/events.js';
import { runPlan, type RunPlanOptions } from '../../src/runner/run-plan.js';
import { FakeExecutor, type FakeBehaviour } from '../helpers/fake-executor.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';

function release(id: string, extra: Partial<Release> = {}): Release {
  return {
    id,
    version: `${id}.0`,
    image: `fx:${id}`,
    upgradeFrom: '*',
    upgradeFromIsDefault: true,
    entry: false,
    milestone: false,
    yanked: false,
    env: { RELEASE_ENV: id },
    phases: {
      preflight: { run: ['pre', id], protocol: 'upgradecheck', env: {}, sql: [] },
      schema: [
        { name: 'api_db', run: ['schema', id, 'api_db'], protocol: 'exit0', env: {} },
        { name: 'db', run: ['schema', id, 'db'], protocol: 'exit0', env: {} },
      ],
      data: {
        run: ['data', id, '--max-count', '{batchSize}'],
        protocol: 'batches',
        batchSize: 50,
        stallAfter: 3,
        env: {},
      },
      check: { run: ['check', id, '--json'], protocol: 'upgradecheck', env: {}, sql: [] },
    },
    timeoutsMs: { preflight: 1000, schema: 2000, data: 3000, check: 4000 },
    dir: `/releases/${id}`,
    file: `releases/${id}/release.yaml`,
    manifestDigest: `sha256:${id}`,
    ...extra,
  };
}

const releases = [release('2023.1'), release('2023.2'), release('2024.1'), release('2024.2')];
const catalog: Catalog = { dir: '/releases', releases, digest: 'sha256:cat' };
const plan: Plan = {
  planVersion: 1,
  from: { release: '2023.1', version: '2023.1.0' },
  to: { release: '2024.2', version: '2024.2.0' },
  steps: releases.slice(1).map((r) => ({
    release: r.id,
    version: r.version,
    image: r.image ?? null,
    imageDigest: null,
    manifestDigest: r.manifestDigest,
    reasons: [],
  })),
  catalogDigest: 'sha256:cat',
};

function setup(behaviour?: FakeBehaviour, current = '2023.1') {
  const ledger = new MemoryLedger({ release: current, version: `${current}.0` });
  const executor = new FakeExecutor(behaviour);
  const events: RunnerEvent[] = [];
  const controller = new AbortController();
  const options = (extra: Partial<RunPlanOptions> = {}): RunPlanOptions => ({
    plan,
    planDigest: 'sha256:plan',
    catalog,
    ledger,
    executor,
    mode: 'apply',
    database: { url: 'postgres://u:s3cret-pw@h/db' },
    secrets: ['postgres://u:s3cret-pw@h/db', 's3cret-pw'],
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { ledger, executor, events, controller, options };
}

const phasesPerStep = ['preflight', 'schema', 'schema', 'data', 'check'];

describe('runPlan against a recording fake executor', () => {
  it('runs every phase of every step in order, substitutes {batchSize}, passes env, advances per step', async () => {
    const { ledger, executor, options } = setup();
    const result = await runPlan(options());
    expect(result.status).toBe('succeeded');
    expect(result.finalRelease.release).toBe('2024.2');
    expect(executor.calls.map((c) => `${c.release}:${c.phase}`)).toEqual(
      ['2023.2', '2024.1', '2024.2'].flatMap((r) => phasesPerStep.map((p) => `${r}:${p}`)),
    );
    const data = executor.calls.find((c) => c.phase === 'data');
    expect(data?.command).toEqual(['data', '2023.2', '--max-count', '50']);
    expect(data?.env).toMatchObject({ RELEASE_ENV: '2023.2', DATABASE_URL: 'postgres://u:s3cret-pw@h/db' });
    expect(executor.calls.find((c) => c.phase === 'check')?.timeoutMs).toBeLessThanOrEqual(4000);
    expect(ledger.state?.release).toBe('2024.2');
    // Each advance comes right after its step's check was recorded, never before.
    const advances = ledger.writes.filter((w) => w.startsWith('advance'));
    expect(advances).toEqual(['advance 2023.2', 'advance 2024.1', 'advance 2024.2']);
    const i = ledger.writes.indexOf('advance 2023.2');
    expect(ledger.writes[i - 1]).toBe('finish 2023.1>2023.2/check/check succeeded');
    expect(ledger.runs[0]?.status).toBe('succeeded');
  });

  it('step mode runs exactly the next pending step', async () => {
    const { ledger, executor, options } = setup(undefined, '2023.2');
    const result = await runPlan(options({ mode: 'step' }));
    expect(new Set(executor.calls.map((c) => c.release))).toEqual(new Set(['2024.1']));
    expect(result.steps.map((s) => `${s.release}:${s.status}`)).toEqual([
      '2023.2:skipped',
      '2024.1:succeeded',
      '2024.2:not-run',
    ]);
    expect(ledger.state?.release).toBe('2024.1');
  });

  for (const [index, phase] of phasesPerStep.entries()) {
    it(`a failure at ${phase} #${index} records it, stops, and a re-run resumes exactly there`, async () => {
      let failing = true;
      const { ledger, executor, options } = setup((call) => {
        const nthPhase =
          releases[2]!.id === call.release
            ? phasesPerStep.indexOf(call.phase) +
              (call.command.includes('db') && !call.command.includes('api_db') ? 1 : 0)
            : -1;
        return failing && nthPhase === index ? { exitCode: 7, lines: ['boom s3cret-pw'] } : { exitCode: 0 };
      });
      const error = await runPlan(options()).then((r) => r.error);
      expect(error).toBeInstanceOf(PhaseFailedError);
      expect((error as Error).message).not.toContain('s3cret-pw');
      expect(ledger.state?.release).toBe('2023.2');
      const failed = [...ledger.phases.values()].find((p) => p.status === 'failed');
      expect(failed).toMatchObject({ release: '2024.1', exitCode: 7, outputTail: ['boom ***'] });
      expect(ledger.runs[0]?.status).toBe('failed');

      failing = false;
      const before = executor.calls.length;
      const result = await runPlan(options());
      const rerun = executor.calls.slice(before).filter((c) => c.release === '2024.1');
      expect(rerun.length).toBe(phasesPerStep.length - index);
      expect(
        result.steps.find((s) => s.release === '2024.1')?.phases.filter((p) => p.status === 'skipped'),
      ).toHaveLength(index);
      expect(ledger.state?.release).toBe('2024.2');
      expect([...ledger.phases.values()].every((p) => p.status === 'succeeded')).toBe(true);
    });
  }

  it('calls beforeFirstCommand once, after the preflight and before the first command that can change the database, and not at all when nothing runs', async () => {
    const order: string[] = [];
    const { executor, options } = setup((call) => {
      order.push(`${call.release}:${call.phase}`);
      return { exitCode: 0 };
    });
    let calls = 0;
    await runPlan(
      options({
        backup: {
          takeIfDue: () => {
            calls += 1;
            order.push('hook');
            return Promise.resolve();
          },
        },
      }),
    );
    expect(calls).toBe(1);
    expect(order.slice(0, 3)).toEqual(['2023.2:preflight', 'hook', '2023.2:schema']);
    const before = executor.calls.length;
    const again = await runPlan(
      options({
        backup: {
          takeIfDue: () => {
            calls += 1;
            return Promise.resolve();
          },
        },
      }),
    );
    expect(again.status).toBe('nothing-to-do');
    expect(calls).toBe(1);
    expect(executor.calls.length).toBe(before);
  });

  it('does not call beforeFirstCommand (no backup) when the preflight refuses', async () => {
    const { options } = setup((call) => (call.phase === 'preflight' ? { exitCode: 2 } : { exitCode: 0 }));
    let calls = 0;
    const error = await runPlan(
      options({
        backup: {
          takeIfDue: () => {
            calls += 1;
            return Promise.resolve();
          },
        },
      }),
    ).then((r) => r.error);
    expect(error).toBeInstanceOf(CheckRedError);
    expect(calls).toBe(0);
  });

  it('a check warning (1) proceeds and is reported; a failure (2) or error (255) is red and does not advance', async () => {
    const json = (result: number) => [
      JSON.stringify({ name: 'x', checks: [{ check: 'Cells', result, details: 'cell0 missing' }] }),
    ];
    const warn = setup((c) =>
      c.phase === 'check' && c.release === '2023.2' ? { exitCode: 1, lines: json(1) } : { exitCode: 0 },
    );
    const ok = await runPlan(warn.options());
    expect(ok.status).toBe('succeeded');
    expect(warn.events.filter((e) => e.type === 'check-result' && e.result === 1)).toHaveLength(1);

    for (const code of [2, 255]) {
      const red = setup((c) =>
        c.phase === 'check' && c.release === '2024.1' ? { exitCode: code, lines: json(2) } : { exitCode: 0 },
      );
      const error = await runPlan(red.options()).then((r) => r.error);
      expect(error).toBeInstanceOf(CheckRedError);
      expect((error as CheckRedError).exitCode).toBe(3);
      expect((error as Error).message).toContain('Cells');
      expect(red.ledger.state?.release).toBe('2023.2');
    }
  });

  it('an upgradecheck exit the protocol does not define is a failed phase (exit 1), not red', async () => {
    const { options } = setup((c) => (c.phase === 'preflight' ? { exitCode: 9 } : { exitCode: 0 }));
    expect((await runPlan(options())).error).toBeInstanceOf(PhaseFailedError);
  });

  it('data loops while the command says more remain, and stalls after stallAfter runs without progress', async () => {
    const progress = (done: number, remaining: number) =>
      JSON.stringify({ progress: { migration: 'backfill_x', done, remaining } });
    const loop = setup((c, nth) => {
      if (c.phase !== 'data') return { exitCode: 0 };
      return nth < 4
        ? { exitCode: 1, lines: [progress(50, 200 - nth * 50)] }
        : { exitCode: 0, lines: [progress(0, 0)] };
    });
    const result = await runPlan(loop.options({ mode: 'step' }));
    const data = result.steps[0]?.phases.find((p) => p.phase === 'data');
    expect(data).toMatchObject({ status: 'succeeded', invocations: 4, rowsMigrated: 150 });
    const progressEvents = loop.events.filter((e) => e.type === 'progress');
    expect(progressEvents.length).toBe(4);
    expect(progressEvents[1]).toMatchObject({ done: 100, remaining: 100 });

    const stall = setup((c) => (c.phase === 'data' ? { exitCode: 1, lines: [progress(0, 42)] } : { exitCode: 0 }));
    const error = await runPlan(stall.options()).then((r) => r.error);
    expect(error).toBeInstanceOf(PhaseFailedError);
    expect((error as Error).message).toMatch(
      /stalled: migration backfill_x \(42 rows remaining\) made no progress in 3 runs/,
    );
    expect(stall.executor.calls.filter((c) => c.phase === 'data')).toHaveLength(3);
  });

  it.each([
    [2, /errors and made no progress/],
    [127, /rejected its input/],
    [5, /exited with code 5/],
  ])('data exit %i fails at once', async (code, message) => {
    const { executor, options } = setup((c) => (c.phase === 'data' ? { exitCode: code } : { exitCode: 0 }));
    const error = await runPlan(options()).then((r) => r.error);
    expect(error).toBeInstanceOf(PhaseFailedError);
    expect((error as Error).message).toMatch(message);
    expect(executor.calls.filter((c) => c.phase === 'data')).toHaveLength(1);
  });

  it('a timeout fails the phase', async () => {
    const { options } = setup((c) => (c.phase === 'schema' ? { exitCode: null, timedOut: true } : { exitCode: 0 }));
    expect((await runPlan(options())).error?.message).toMatch(/timed out after 2s/);
  });

  it('an abort stops the running command, records it as interrupted and throws InterruptedError', async () => {
    const { ledger, controller, options } = setup((c) =>
      c.phase === 'data' && c.release === '2024.1' ? { exitCode: null, waitForAbort: true } : { exitCode: 0 },
    );
    const running = runPlan(options());
    setTimeout(() => controller.abort(), 20);
    const error = await running.then((r) => r.error);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitCode).toBe(130);
    expect([...ledger.phases.values()].find((p) => p.phase === 'data' && p.release === '2024.1')?.status).toBe(
      'interrupted',
    );
    expect(ledger.runs[0]?.status).toBe('interrupted');
    expect(ledger.state?.release).toBe('2023.2');
  });

  it('records a result that does not move the release with the next start, and on its own before a backup or an abort', async () => {
    const { ledger, controller, options } = setup((call) => {
      // The second step's first schema command asks to stop once it has succeeded.
      if (call.release === '2024.1' && call.command.includes('api_db')) controller.abort();
      return { exitCode: 0 };
    });
    const startedWith: (string | null)[] = [];
    const order: string[] = [];
    const startPhase = ledger.startPhase.bind(ledger);
    ledger.startPhase = (key, runId, digest, finished) => {
      startedWith.push(finished === undefined ? null : `${finished.key.release}/${finished.key.name}`);
      return startPhase(key, runId, digest, finished);
    };
    const error = await runPlan(
      options({
        backup: {
          takeIfDue: () => {
            order.push(...ledger.writes.slice(-1), 'backup');
            return Promise.resolve();
          },
        },
      }),
    ).then((r) => r.error);
    // Step 2023.2: the preflight's result is written alone before the backup; from then on each
    // start carries the result before it; the check's result moves the release on its own.
    expect(order).toEqual(['finish 2023.1>2023.2/preflight/preflight succeeded', 'backup']);
    expect(startedWith).toEqual([null, null, '2023.2/api_db', '2023.2/db', '2023.2/data', null, '2024.1/preflight']);
    // The abort after api_db of 2024.1: its success is recorded before the run stops.
    expect(error).toBeInstanceOf(InterruptedError);
    expect(ledger.writes.at(-1)).toBe('finish 2023.2>2024.1/schema/api_db succeeded');
    expect(ledger.runs[0]?.status).toBe('interrupted');
    expect(
      [...ledger.phases.values()].filter((p) => p.release === '2024.1').map((p) => `${p.name}:${p.status}`),
    ).toEqual(['preflight:succeeded', 'api_db:succeeded']);
  });

  it('refuses a stale plan (6), a downgrade (5) and a database without a ledger release (2), before running anything', async () => {
    const stale = setup(undefined, '2022.9');
    await expect(runPlan(stale.options())).rejects.toBeInstanceOf(StalePlanError);
    const newer = setup(undefined, '2025.1');
    await expect(runPlan(newer.options())).rejects.toBeInstanceOf(RefusedError);
    const none = setup();
    none.ledger.state = null;
    await expect(runPlan(none.options())).rejects.toBeInstanceOf(BadInputError);
    for (const s of [stale, newer, none]) {
      expect(s.executor.calls).toHaveLength(0);
      expect(s.ledger.runs).toHaveLength(0);
    }
  });

  it('resumes from a later stop of the same plan (the database is already at 2024.1)', async () => {
    const { executor, options } = setup(undefined, '2024.1');
    const result = await runPlan(options());
    expect(new Set(executor.calls.map((c) => c.release))).toEqual(new Set(['2024.2']));
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'succeeded']);
  });

  it('redacts secrets from output events and the ledger', async () => {
    const { ledger, events, options } = setup((c) =>
      c.phase === 'schema' ? { exitCode: 0, lines: ['url postgres://u:s3cret-pw@h/db'] } : { exitCode: 0 },
    );
    await runPlan(options({ mode: 'step' }));
    const text = JSON.stringify(events) + JSON.stringify([...ledger.phases.values()]);
    expect(text).not.toContain('s3cret-pw');
    expect(text).toContain('url ***');
  });

  it('a ledger that fails mid-run becomes a typed, redacted error and the run is still closed', async () => {
    const { ledger, options } = setup();
    let writes = 0;
    ledger.finishPhase = () => {
      writes += 1;
      return Promise.reject(new Error('connection to postgres://u:s3cret-pw@h/db lost'));
    };
    const error = await runPlan(options()).then((r) => r.error);
    expect(writes).toBe(1);
    expect(error).toBeInstanceOf(PhaseFailedError);
    expect((error as Error).message).toContain('connection to *** lost');
    expect((error as PhaseFailedError).hint).toContain('resumes at the first phase not recorded as succeeded');
    expect(ledger.runs[0]?.status).toBe('failed');
  });
});
