// Data progress (issue 9, item 7): done and remaining per migration and for the phase, an ETA
// over everything known to remain, the command's own unit; and how the renderers show it.
import { describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/runner/events.js';
import { PhaseProgress } from '../../src/runner/phase-progress.js';
import { parseProgressLine, type ProgressReport } from '../../src/runner/protocols/progress-line.js';
import { JsonRenderer } from '../../src/ui/json-renderer.js';
import { PlainRenderer } from '../../src/ui/plain-renderer.js';
import type { OutputSink } from '../../src/ui/renderer.js';

const line = (migration: string, done: number, remaining: number, unit = 'rows'): ProgressReport => ({
  migration,
  done,
  remaining,
  unit,
});
const ref = { release: '2024.1', phase: 'data' as const, name: 'data' };

function fakeSink(): OutputSink & { text: () => string } {
  const out: string[] = [];
  return { out: (t) => out.push(t), err: (t) => out.push(t), isTTY: false, text: () => out.join('') };
}

describe('progress line protocol', () => {
  it('reads an optional unit, defaulting to rows; a malformed unit falls back to the default', () => {
    expect(parseProgressLine('{"progress":{"migration":"m","done":1,"remaining":2}}')).toEqual(line('m', 1, 2));
    expect(parseProgressLine('{"progress":{"migration":"m","done":1,"remaining":2,"unit":"jobs"}}')).toEqual(
      line('m', 1, 2, 'jobs'),
    );
    expect(parseProgressLine('{"progress":{"migration":"m","done":1,"remaining":2,"unit":7}}')?.unit).toBe('rows');
    expect(parseProgressLine('{"progress":{"migration":"m","done":1,"remaining":2,"unit":"{}; DROP"}}')?.unit).toBe(
      'rows',
    );
  });
});

describe('PhaseProgress', () => {
  it('keeps a migration the invocation has not reached yet in the phase remaining', () => {
    // The case: 102,000 of the first migration done, 98,000 left of it, and 400,000
    // rows of the second migration reported by the previous invocation, still to come.
    const p = new PhaseProgress(0);
    p.report(line('a', 2_000, 198_000), 1_000);
    p.report(line('b', 0, 400_000), 1_000);
    p.nextInvocation();
    const now = p.report(line('a', 100_000, 98_000), 20_400);
    expect(now).toMatchObject({
      migration: 'a',
      migrationDone: 102_000,
      migrationRemaining: 98_000,
      phaseDone: 102_000,
      phaseRemaining: 498_000,
    });
    // Same old names for JSON consumers: the phase's totals.
    expect(now).toMatchObject({ done: 102_000, remaining: 498_000 });
    // 102,000 in 20.4 s is 5,000/s: 498,000 take 99.6 s, not the 19.6 s of the first migration.
    expect(now.rowsPerSecond).toBeCloseTo(5_000);
    expect(now.etaMs).toBeCloseTo(99_600);
    expect(now.migrations.map((m) => [m.migration, m.done, m.remaining])).toEqual([
      ['a', 102_000, 98_000],
      ['b', 0, 400_000],
    ]);
  });

  it('adds done over invocations and takes the latest remaining as it shrinks', () => {
    const p = new PhaseProgress(0);
    p.report(line('a', 500, 1_500), 100);
    expect(p.report(line('a', 1_000, 1_000), 200)).toMatchObject({ migrationDone: 1_000, phaseRemaining: 1_000 });
    p.nextInvocation();
    expect(p.report(line('a', 400, 600), 300)).toMatchObject({
      migrationDone: 1_400,
      migrationRemaining: 600,
      phaseDone: 1_400,
    });
    p.nextInvocation();
    const last = p.report(line('a', 600, 0), 400);
    expect(last).toMatchObject({
      migrationDone: 2_000,
      migrationRemaining: 0,
      phaseDone: 2_000,
      phaseRemaining: 0,
      etaMs: 0,
    });
  });

  it('a new migration appearing adds to the phase; its unit is its own, mixed units add up as items', () => {
    const p = new PhaseProgress(0);
    expect(p.report(line('a', 10, 0, 'jobs'), 1_000)).toMatchObject({
      phaseUnit: 'jobs',
      phaseDone: 10,
      phaseRemaining: 0,
      etaMs: 0,
    });
    const b = p.report(line('b', 5, 45, 'jobs'), 2_000);
    expect(b).toMatchObject({
      migration: 'b',
      unit: 'jobs',
      migrationDone: 5,
      migrationRemaining: 45,
      phaseDone: 15,
      phaseRemaining: 45,
      phaseUnit: 'jobs',
    });
    expect(b.etaMs).toBeCloseTo((45 / (15 / 2)) * 1000);
    const c = p.report(line('c', 1, 9, 'batches'), 2_000);
    expect(c).toMatchObject({ unit: 'batches', phaseUnit: 'items', phaseDone: 16, phaseRemaining: 54 });
    expect(c.migrations).toHaveLength(3);
  });

  it('no rate and no ETA before anything is done', () => {
    const p = new PhaseProgress(0);
    expect(p.report(line('a', 0, 100), 500)).toMatchObject({ rowsPerSecond: null, etaMs: null });
  });
});

describe('renderers', () => {
  const progress = (
    migration: string,
    migrationDone: number,
    migrationRemaining: number,
    unit = 'rows',
  ): RunnerEvent => {
    const p = new PhaseProgress(0);
    p.report(line('first', 100_000, 0, unit), 10_000);
    return { type: 'progress', ...ref, ...p.report(line(migration, migrationDone, migrationRemaining, unit), 20_000) };
  };

  it('plain lines show the migration and the phase, in the command unit, and the closing count in it', () => {
    const sink = fakeSink();
    const r = new PlainRenderer(sink);
    r.onEvent({ type: 'phase-started', ...ref, attempt: 1 });
    r.onEvent(progress('second', 50_000, 150_000, 'jobs'));
    r.onEvent({
      type: 'phase-finished',
      ...ref,
      status: 'succeeded',
      exitCode: 0,
      durationMs: 30_000,
      rowsMigrated: 350_000,
      message: null,
    });
    const text = sink.text();
    expect(text).toContain(
      'second: 50,000 jobs done, 150,000 left · phase, 2 migrations: 150,000 jobs done, 150,000 left · 7,500 jobs/s · ETA 20.0s',
    );
    expect(text).toContain('data: succeeded in 30.0s, 350,000 jobs');
    expect(text).not.toContain('rows');
  });

  it('plain lines show the backup from its start, with its path, and how it ended', () => {
    const sink = fakeSink();
    const r = new PlainRenderer(sink);
    const path = '/srv/backups/shop-2023.1-20261201T220000Z.dump';
    r.onEvent({ type: 'backup-started', path, database: 'shop', release: '2023.1' });
    r.onEvent({ type: 'backup-progress', path, bytes: 1024, elapsedMs: 100 });
    r.onEvent({ type: 'backup-finished', path, bytes: 3 * 1024 * 1024, sha256: 'ab'.repeat(32), durationMs: 4_200 });
    r.onEvent({ type: 'backup-failed', path, message: 'pg_dump exited with code 1' });
    const lines = sink.text().trimEnd().split('\n');
    expect(lines[0]).toBe(`  backup of shop at 2023.1: writing ${path}`);
    // Progress is throttled: the size line right after the start is not printed.
    expect(lines[1]).toBe(`  backup: 3.0 MiB in 4.2s → ${path}`);
    expect(lines[2]).toBe(`  backup failed: pg_dump exited with code 1 (${path})`);
  });

  it('JSON lines carry the backup events and the progress fields as they are', () => {
    const sink = fakeSink();
    const r = new JsonRenderer(sink);
    const path = '/b/shop.dump';
    r.onEvent({ type: 'backup-started', path, database: 'shop', release: null });
    r.onEvent({ type: 'backup-progress', path, bytes: 2048, elapsedMs: 1_000 });
    r.onEvent(progress('second', 1, 2));
    const events = sink
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toEqual({ type: 'backup-started', path, database: 'shop', release: null });
    expect(events[1]).toEqual({ type: 'backup-progress', path, bytes: 2048, elapsedMs: 1_000 });
    expect(events[2]).toMatchObject({
      type: 'progress',
      migration: 'second',
      unit: 'rows',
      migrationDone: 1,
      migrationRemaining: 2,
      phaseDone: 100_001,
      phaseRemaining: 2,
      done: 100_001,
      remaining: 2,
    });
  });
});

describe('runPlan emits the aggregated progress', () => {
  it('a later invocation that has not reached migration b yet still counts what b has left', async () => {
    const { runPlan } = await import('../../src/runner/run-plan.js');
    const { FakeExecutor } = await import('../helpers/fake-executor.js');
    const { MemoryLedger } = await import('../helpers/memory-ledger.js');
    const p = (migration: string, done: number, remaining: number) =>
      JSON.stringify({ progress: { migration, done, remaining, unit: 'jobs' } });
    const executor = new FakeExecutor((call, nth) => {
      if (call.phase !== 'data') return { exitCode: 0 };
      if (nth === 1) return { exitCode: 1, lines: [p('a', 50, 150), p('b', 0, 400)] };
      if (nth === 2) return { exitCode: 1, lines: [p('a', 150, 0)] };
      return { exitCode: 0, lines: [p('b', 400, 0)] };
    });
    const release = {
      id: '2023.2',
      version: '2023.2.0',
      image: 'fx:2023.2',
      upgradeFrom: '*',
      upgradeFromIsDefault: true,
      entry: false,
      milestone: false,
      yanked: false,
      env: {},
      phases: {
        schema: [],
        data: { run: ['data'], protocol: 'batches' as const, batchSize: 50, stallAfter: 3, env: {} },
      },
      timeoutsMs: { preflight: 1000, schema: 1000, data: 5000, check: 1000 },
      dir: '/r/2023.2',
      file: 'r/2023.2/release.yaml',
      manifestDigest: 'sha256:x',
    };
    const events: RunnerEvent[] = [];
    await runPlan({
      plan: {
        planVersion: 1,
        from: { release: '2023.1', version: '2023.1.0' },
        to: { release: '2023.2', version: '2023.2.0' },
        catalogDigest: 'sha256:c',
        steps: [
          {
            release: '2023.2',
            version: '2023.2.0',
            image: 'fx:2023.2',
            imageDigest: null,
            manifestDigest: 'sha256:x',
            reasons: [],
          },
        ],
      },
      planDigest: 'sha256:p',
      catalog: { dir: '/r', releases: [release], digest: 'sha256:c' },
      ledger: new MemoryLedger({ release: '2023.1', version: '2023.1.0' }),
      executor,
      mode: 'apply',
      database: { url: 'postgres://u@h/db' },
      secrets: [],
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    const progress = events.filter((e): e is Extract<RunnerEvent, { type: 'progress' }> => e.type === 'progress');
    expect(
      progress.map((e) => [e.migration, e.migrationDone, e.migrationRemaining, e.phaseDone, e.phaseRemaining]),
    ).toEqual([
      ['a', 50, 150, 50, 150],
      ['b', 0, 400, 50, 550],
      ['a', 200, 0, 200, 400],
      ['b', 400, 0, 600, 0],
    ]);
    expect(progress.every((e) => e.unit === 'jobs')).toBe(true);
  });
});
