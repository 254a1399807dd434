import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Release } from '../../src/catalog/release.js';
import { PhaseFailedError } from '../../src/errors/index.js';
import { ProcessExecutor } from '../../src/executors/process-executor.js';
import { runBatches } from '../../src/runner/protocols/batches.js';
import { phaseEnvironment } from '../../src/executors/phase-environment.js';
import { runExit0 } from '../../src/runner/protocols/exit0.js';
import { describeMap, runExitCodeMap } from '../../src/runner/protocols/exit-code-map.js';
import { parseProgressLine, type ProgressReport } from '../../src/runner/protocols/progress-line.js';
import type { Invoke } from '../../src/runner/protocols/protocol-outcome.js';
import { runUpgradeCheck } from '../../src/runner/protocols/upgradecheck.js';

// The protocols driven through the REAL process executor and the fixture command
// test/fixtures/protocol/fx.mjs, which behaves like nova-manage / nova-status.
const fixtureDir = resolve('test/fixtures/protocol');
const release: Release = {
  id: 'fx1',
  version: '1.0.0',
  image: 'fx',
  upgradeFrom: '*',
  upgradeFromIsDefault: true,
  entry: false,
  milestone: false,
  yanked: false,
  env: {},
  local: { path: ['bin'], cwd: '.' },
  phases: { schema: [] },
  timeoutsMs: { preflight: 10_000, schema: 10_000, data: 10_000, check: 10_000 },
  dir: fixtureDir,
  file: 'fx/release.yaml',
  manifestDigest: 'sha256:x',
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function invoker(
  env: Record<string, string>,
  phase: 'data' | 'check' | 'schema' = 'data',
  timeoutMs = 10_000,
): { invoke: Invoke; lines: string[] } {
  const executor = new ProcessExecutor({ killGraceMs: 200 });
  const lines: string[] = [];
  const invoke: Invoke = async (command) => {
    const stdout: string[] = [];
    const progress = new Map<string, ProgressReport>();
    const result = await executor.run(command, {
      runId: 'r',
      release,
      phase,
      env,
      timeoutMs,
      signal: new AbortController().signal,
      onLine: (line, stream) => {
        lines.push(line);
        const p = parseProgressLine(line);
        if (p) progress.set(p.migration, p);
        else if (stream === 'stdout') stdout.push(line);
      },
    });
    return { ...result, stdout, progress };
  };
  return { invoke, lines };
}

function state(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fx-'));
  dirs.push(dir);
  return join(dir, 'state');
}

const data = {
  run: ['fx', 'data', 'fx1', '--max-count', '{batchSize}'],
  protocol: 'batches' as const,
  batchSize: 10,
  stallAfter: 3,
  env: {},
};

describe('batches protocol (nova-manage online_data_migrations)', () => {
  it('1 means run again, 0 means done; {batchSize} is substituted', async () => {
    const { invoke, lines } = invoker({ FX_SEQUENCE: '1,1,0', FX_STATE: state() });
    const outcome = await runBatches(invoke, data, 10_000);
    expect(outcome).toMatchObject({ status: 'succeeded', exitCode: 0, invocations: 3, rowsMigrated: 20 });
    expect(lines.filter((l) => l.includes('"done":10'))).toHaveLength(2);
  });

  it('2 fails at once (errors, no progress)', async () => {
    const { invoke } = invoker({ FX_SEQUENCE: '1,2,0', FX_STATE: state() });
    expect(await runBatches(invoke, data, 10_000)).toMatchObject({ status: 'failed', exitCode: 2, invocations: 2 });
  });

  it('127 is bad input, other codes fail', async () => {
    for (const code of [127, 3]) {
      const { invoke } = invoker({ FX_SEQUENCE: String(code), FX_STATE: state() });
      expect(await runBatches(invoke, data, 10_000)).toMatchObject({
        status: 'failed',
        exitCode: code,
        invocations: 1,
      });
    }
  });

  it('exit 1 without progress stallAfter times in a row is a stall, never an endless loop', async () => {
    const { invoke } = invoker({ FX_STALL: 'fx1' });
    const outcome = await runBatches(invoke, data, 10_000);
    expect(outcome.status).toBe('failed');
    expect(outcome.invocations).toBe(3);
    expect(outcome.message).toMatch(/backfill_r_fx1 \(42 rows remaining\) made no progress in 3 runs/);
  });

  it('a command that prints no progress lines is trusted on exit 1', async () => {
    const { invoke } = invoker({ FX_SEQUENCE: '1,1,1,1,0', FX_SEQUENCE_PROGRESS: '0', FX_STATE: state() });
    expect(await runBatches(invoke, data, 10_000)).toMatchObject({ status: 'succeeded', invocations: 5 });
  });
});

describe('upgradecheck protocol (oslo.upgradecheck --json)', () => {
  it.each([
    [0, 'succeeded', false],
    [1, 'succeeded', true],
    [2, 'red', false],
    [255, 'red', false],
  ] as const)('exit %i is %s', async (code, status, warning) => {
    const { invoke } = invoker({ FX_CHECK: `fx1:${code}` }, 'check');
    const outcome = await runUpgradeCheck(invoke, ['fx', 'preflight', 'fx1', '--json'], 10_000);
    expect(outcome.status).toBe(status);
    expect(outcome.warning).toBe(warning);
    expect(outcome.checks.map((c) => c.check)).toEqual(['Schema version', 'Backfill r_fx1']);
    expect(outcome.checks[1]?.result).toBe(code === 255 ? 2 : code);
  });

  it('an exit code outside the protocol fails the phase', async () => {
    const { invoke } = invoker({ FX_FAIL: 'fx1:preflight:9' }, 'check');
    expect(await runUpgradeCheck(invoke, ['fx', 'preflight', 'fx1', '--json'], 10_000)).toMatchObject({
      status: 'failed',
      exitCode: 9,
    });
  });
});

describe('exit0 protocol and the process executor', () => {
  it('0 succeeds, anything else fails, the tail keeps the output', async () => {
    const { invoke } = invoker({ FX_FAIL: 'fx1:schema:4' }, 'schema');
    const outcome = await runExit0(invoke, ['fx', 'schema', 'fx1', 'db'], 10_000);
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(outcome.outputTail.join('\n')).toContain('failing on purpose with 4');
  });

  it('kills the whole process group on timeout and reports it', async () => {
    const { invoke } = invoker({}, 'schema', 300);
    const started = Date.now();
    const outcome = await runExit0(invoke, ['sh', '-c', 'sleep 30 & sleep 30; echo never'], 300);
    expect(outcome.status).toBe('failed');
    expect(outcome.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a missing binary is a PhaseFailedError naming release, phase and command', async () => {
    const { invoke } = invoker({}, 'schema');
    const error = await invoke(['no-such-command-xyz', 'sync']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhaseFailedError);
    expect((error as Error).message).toMatch(
      /release fx1, phase schema: cannot run `no-such-command-xyz sync`: command not found/,
    );
  });
});

describe('exit-code maps (keystone-manage db_sync --check) and per-command env', () => {
  // keystone-manage db_sync --check: 0 up to date, 1 error, 2 expand, 3 migrate, 4 contract needed.
  const keystone = { exitCodes: { 0: 'green', 1: 'error', 2: 'red', 3: 'red', 4: 'red', 5: 'warning' } } as const;
  const command = ['fx', 'manage', 'fx1', 'db_sync', '--check'];

  it.each([
    [0, 'check', 'succeeded', false, 0],
    [5, 'check', 'succeeded', true, 1],
    [3, 'check', 'red', false, 2],
    [3, 'schema', 'failed', false, null],
    [1, 'check', 'failed', false, null],
    [7, 'check', 'failed', false, null],
  ] as const)('exit %i in a %s phase is %s', async (code, kind, status, warning, checkResult) => {
    const { invoke } = invoker({ FX_EXIT: String(code) }, kind);
    const outcome = await runExitCodeMap(invoke, command, keystone, 10_000, kind);
    expect(outcome).toMatchObject({ status, warning, exitCode: code });
    expect(outcome.checks.map((c) => c.result)).toEqual(checkResult === null ? [] : [checkResult]);
    if (code === 3)
      expect(outcome.message).toBe(`exited with code 3, which the exit-code map (${describeMap(keystone)}) calls red`);
    if (code === 7)
      expect(outcome.message).toContain(
        'exited with code 7, which the exit-code map (0 green, 1 error, 2 red, 3 red, 4 red, 5 warning) does not list',
      );
  });

  it("a command's own env reaches it over the release's, without any database variable but the URL", async () => {
    const withEnv: Release = { ...release, env: { KOLLA_CONFIG_STRATEGY: 'COPY_ALWAYS', KOLLA_UPGRADE: 'no' } };
    const env = phaseEnvironment(
      withEnv,
      { url: 'postgres://scratch/db' },
      {},
      { KOLLA_UPGRADE: 'yes', KOLLA_OSM: 'yes', PGHOST: 'elsewhere', DATABASE_URL: 'postgres://elsewhere/db' },
    );
    const { invoke, lines } = invoker(env, 'schema');
    const outcome = await runExitCodeMap(invoke, command, keystone, 10_000, 'schema');
    expect(outcome.status).toBe('succeeded');
    expect(lines, lines.join('\n')).toContain(
      'manage fx1 db_sync --check: KOLLA_CONFIG_STRATEGY=COPY_ALWAYS KOLLA_OSM=yes KOLLA_UPGRADE=yes; database variables: DATABASE_URL',
    );
  });
});
