// The toolchain rules without a database: which releases of a run need their toolchain (only the
// ones still to run, only with the process executor), what a marker makes of a release's state,
// and the clean environment an install gets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Catalog, Release } from '../../src/catalog/release.js';
import { BadInputError, DriftError, ExitCode } from '../../src/errors/index.js';
import { planPath } from '../../src/planner/plan-path.js';
import { installEnvironment } from '../../src/toolchains/install-toolchain.js';
import {
  assertToolchainsForRun,
  commandText,
  MARKER_FILE,
  toolchainState,
  type ToolchainRunContext,
} from '../../src/toolchains/toolchain-state.js';
import { catalogBuilder } from '../helpers/catalog-builder.js';

let dir: string;
let catalog: Catalog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'leapfrog-toolchain-unit-'));
  catalog = catalogBuilder(dir)
    .release('1.0')
    .release('1.1', { local: { install: ['npm', 'ci'] } })
    .release('1.2', { local: { install: ['npm', 'ci'] } })
    .release('1.3')
    .build();
  for (const release of catalog.releases) mkdirSync(release.dir);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const releaseOf = (id: string): Release => catalog.releases.find((r) => r.id === id)!;
const ref = (id: string) => ({ release: id, version: releaseOf(id).version });

function installed(id: string, changes: Record<string, unknown> = {}): void {
  const release = releaseOf(id);
  const marker = {
    markerVersion: 1,
    release: id,
    manifestDigest: release.manifestDigest,
    install: release.local?.install,
    finishedAt: '2026-01-01T00:00:00.000Z',
    leapfrogVersion: '0.1.0',
    ...changes,
  };
  writeFileSync(join(release.dir, MARKER_FILE), JSON.stringify(marker));
}

function context(overrides: Partial<ToolchainRunContext> = {}): ToolchainRunContext {
  return { catalog, plan: null, to: ref('1.3'), current: ref('1.0'), executorKind: 'process', ...overrides };
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('toolchain state', () => {
  it('is not needed without local.install, missing without a marker, installed with a current one', () => {
    expect(toolchainState(releaseOf('1.0')).state).toBe('not-needed');
    expect(toolchainState(releaseOf('1.1')).state).toBe('missing');
    installed('1.1');
    expect(toolchainState(releaseOf('1.1'))).toMatchObject({ state: 'installed', install: ['npm', 'ci'] });
  });

  it('is stale for another manifest digest, another install argv, or a marker it cannot read', () => {
    installed('1.1', { manifestDigest: 'sha256:0000' });
    expect(toolchainState(releaseOf('1.1')).state).toBe('stale');
    installed('1.1', { install: ['npm', 'install'] });
    expect(toolchainState(releaseOf('1.1')).state).toBe('stale');
    writeFileSync(join(releaseOf('1.1').dir, MARKER_FILE), '{not json');
    expect(toolchainState(releaseOf('1.1'))).toMatchObject({ state: 'stale', marker: null });
  });
});

describe('the refusal before a run', () => {
  it('passes when every release still to run has its toolchain', () => {
    installed('1.1');
    installed('1.2');
    expect(() => assertToolchainsForRun(context())).not.toThrow();
  });

  it('refuses missing toolchains with exit 2, naming each release and the install command', () => {
    installed('1.1');
    const error = thrown(() => assertToolchainsForRun(context()));
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).exitCode).toBe(ExitCode.badInput);
    expect((error as BadInputError).message).toContain('release 1.2 (local.install: npm ci), which is not installed');
    expect((error as BadInputError).hint).toContain('`leapfrog toolchains install --release 1.2`');
  });

  it('refuses a stale toolchain with exit 6 (drift); a missing one beside it decides exit 2', () => {
    installed('1.1', { manifestDigest: 'sha256:0000' });
    installed('1.2');
    const stale = thrown(() => assertToolchainsForRun(context()));
    expect(stale).toBeInstanceOf(DriftError);
    expect((stale as DriftError).exitCode).toBe(ExitCode.stalePlan);
    expect((stale as DriftError).hint).toContain('re-install it: `leapfrog toolchains install --release 1.1`');

    rmSync(join(releaseOf('1.2').dir, MARKER_FILE));
    const both = thrown(() => assertToolchainsForRun(context()));
    expect(both).toBeInstanceOf(BadInputError);
    expect((both as BadInputError).details).toMatchObject({ missing: ['1.2'], stale: ['1.1'] });
    expect((both as BadInputError).hint).toContain('`leapfrog toolchains install`');
  });

  it('ignores local.install with the docker executor: images carry their tools', () => {
    expect(() => assertToolchainsForRun(context({ executorKind: 'docker' }))).not.toThrow();
  });

  it('looks only at releases still to run: a resumed plan skips the stops already reached', () => {
    const plan = planPath(catalog, '1.0', '1.3');
    expect(() => assertToolchainsForRun(context({ plan, current: ref('1.0') }))).toThrow(BadInputError);
    // At 1.2: only 1.3 is left, which needs nothing.
    expect(() => assertToolchainsForRun(context({ plan, current: ref('1.2') }))).not.toThrow();
    // At 1.1: 1.2 is left and missing.
    const error = thrown(() => assertToolchainsForRun(context({ plan, current: ref('1.1') })));
    expect((error as BadInputError).details).toMatchObject({ missing: ['1.2'] });
  });

  it('leaves paths it cannot plan to the pipeline (stale plan exit 6, downgrade exit 5, nothing to do)', () => {
    const plan = planPath(catalog, '1.1', '1.3');
    // The database at 1.0 is not on this plan: a stale plan, refused later with its own message.
    expect(() => assertToolchainsForRun(context({ plan, current: ref('1.0') }))).not.toThrow();
    expect(() => assertToolchainsForRun(context({ to: ref('1.0'), current: ref('1.3') }))).not.toThrow();
    expect(() => assertToolchainsForRun(context({ to: ref('1.3'), current: ref('1.3') }))).not.toThrow();
    expect(() => assertToolchainsForRun(context({ to: undefined }))).not.toThrow();
  });
});

describe('the install environment', () => {
  it('passes PATH, HOME, locale, proxies and npm/pip settings; never DATABASE_URL or PG*', () => {
    const env = installEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/op',
      LC_ALL: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      npm_config_cache: '/var/cache/npm',
      NPM_CONFIG_OFFLINE: 'true',
      PIP_INDEX_URL: 'https://pypi.internal/simple',
      DATABASE_URL: 'postgres://app:secret@db/shop',
      PGPASSWORD: 'secret',
      PGHOST: 'db',
      AWS_SECRET_ACCESS_KEY: 'not for an install',
      LEAPFROG_EXECUTOR: 'process',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/op',
      LC_ALL: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      npm_config_cache: '/var/cache/npm',
      NPM_CONFIG_OFFLINE: 'true',
      PIP_INDEX_URL: 'https://pypi.internal/simple',
    });
  });
});

describe('commandText', () => {
  it('shows an argv on one line, shell-quoted, a multi-line script folded, long ones cut', () => {
    expect(commandText(['npm', 'ci', '--omit=dev'])).toBe('npm ci --omit=dev');
    expect(commandText(['sh', '-c', 'set -e\nnpm ci\n'])).toBe("sh -c 'set -e; npm ci'");
    expect(commandText(['x'.repeat(200)], 20)).toBe(`${'x'.repeat(19)}…`);
  });
});
