// The resume rule on the in-memory ledger (the same as PostgresLedger's, ledger migration 4): a
// phase record counts only in the episode it was started in; a baseline starts a new episode,
// an advance at the end of a step keeps it.
import { describe, expect, it } from 'vitest';
import type { Catalog, Release } from '../../src/catalog/release.js';
import type { PhaseKey, PhaseResultRecord } from '../../src/ledger/ledger.js';
import type { Plan } from '../../src/planner/plan.js';
import { runPlan } from '../../src/runner/run-plan.js';
import { FakeExecutor } from '../helpers/fake-executor.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';

const A = { release: 'A', version: 'A.0' };
const B = { release: 'B', version: 'B.0' };
const KEY: PhaseKey = { fromRelease: 'A', release: 'B', phase: 'schema', name: 'db' };
const GREEN: PhaseResultRecord = {
  status: 'succeeded',
  exitCode: 0,
  outputTail: [],
  durationMs: 1,
  rowsMigrated: null,
  details: null,
};

describe('MemoryLedger: phase records count only in their episode', () => {
  it('keeps a record across an advance, drops it after the release is set again', async () => {
    const ledger = new MemoryLedger(A);
    await ledger.startPhase(KEY, 'run-1', 'sha256:p');
    await ledger.finishPhase(KEY, { ...GREEN, status: 'failed', exitCode: 3 });
    await ledger.startPhase(KEY, 'run-2', 'sha256:p');
    await ledger.finishPhase(KEY, GREEN, B);
    // The advance ends the hop in the same episode: its record still answers.
    expect(await ledger.phase(KEY)).toMatchObject({ status: 'succeeded', attempts: 2 });

    await ledger.setCurrentRelease(A);
    expect(await ledger.phase(KEY)).toBeNull();
    // The new episode counts its attempts from one.
    await ledger.startPhase(KEY, 'run-3', 'sha256:p');
    expect(await ledger.phase(KEY)).toMatchObject({ status: 'running', attempts: 1 });
  });
});

function release(id: string): Release {
  return {
    id,
    version: `${id}.0`,
    image: `fx:${id}`,
    upgradeFrom: '*',
    upgradeFromIsDefault: true,
    entry: false,
    milestone: false,
    yanked: false,
    env: {},
    phases: {
      schema: [{ name: 'db', run: ['schema', id], protocol: 'exit0', env: {} }],
      check: { run: ['check', id, '--json'], protocol: 'upgradecheck', env: {}, sql: [] },
    },
    timeoutsMs: { preflight: 1000, schema: 1000, data: 1000, check: 1000 },
    dir: `/releases/${id}`,
    file: `releases/${id}/release.yaml`,
    manifestDigest: `sha256:${id}`,
  };
}

describe('runPlan after the database was put back at the hop start', () => {
  it('runs the hop again instead of skipping its recorded phases', async () => {
    const releases = [release('A'), release('B')];
    const catalog: Catalog = { dir: '/releases', releases, digest: 'sha256:cat' };
    const plan: Plan = {
      planVersion: 1,
      from: A,
      to: B,
      steps: [{ ...B, image: 'fx:B', imageDigest: null, manifestDigest: 'sha256:B', reasons: [] }],
      catalogDigest: 'sha256:cat',
    };
    const ledger = new MemoryLedger(A);
    const executor = new FakeExecutor();
    const options = {
      plan,
      planDigest: 'sha256:plan',
      catalog,
      ledger,
      executor,
      mode: 'apply' as const,
      database: { url: 'postgres://h/db' },
      secrets: [],
      signal: new AbortController().signal,
    };
    expect((await runPlan(options)).status).toBe('succeeded');
    expect(executor.calls.map((c) => c.phase)).toEqual(['schema', 'check']);

    await ledger.setCurrentRelease(A); // baseline --release A --force
    const again = await runPlan(options);
    expect(again.status).toBe('succeeded');
    expect(executor.calls.map((c) => c.phase)).toEqual(['schema', 'check', 'schema', 'check']);
    expect(again.steps[0]?.phases.map((p) => p.status)).not.toContain('skipped');
    expect(ledger.state?.release).toBe('B');
  });
});
