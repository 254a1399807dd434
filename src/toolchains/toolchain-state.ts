/**
 * Per-release toolchains (OpenStack-Ansible's venv per release, done once): a release whose
 * manifest has `local.install` needs that argv run once in its folder before the process executor
 * can run its commands (`npm ci` puts the migration tool in node_modules/.bin). This module says
 * where each release's toolchain stands, from a marker file the install writes last, and refuses
 * a run whose path needs a toolchain that is missing or stale. install-toolchain.ts writes markers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog, Release } from '../catalog/release.js';
import { BadInputError, DriftError, LeapfrogError } from '../errors/index.js';
import { planPath } from '../planner/plan-path.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import { logger } from '../util/logger.js';
import { nextCommand, shellWord } from '../util/next-command.js';

const log = logger('toolchains');

/** Written in the release folder once `local.install` succeeded; its absence means "not installed". */
export const MARKER_FILE = '.leapfrog-toolchain.json';
/** Held (created exclusively) while an install runs, so two installs of one release never interleave. */
export const LOCK_FILE = '.leapfrog-toolchain.lock';

/** What the marker records: enough to tell a current toolchain from one installed for an older manifest. */
export interface ToolchainMarker {
  markerVersion: 1;
  release: string;
  manifestDigest: string;
  install: string[];
  finishedAt: string;
  leapfrogVersion: string;
}

/**
 * installed: the marker holds this manifest's digest and install argv. stale: a marker from
 * another manifest (edited since: re-install). missing: never installed, or the last install
 * failed or was stopped. not-needed: no `local.install`.
 */
export type ToolchainStateName = 'installed' | 'stale' | 'missing' | 'not-needed';

export interface ToolchainState {
  release: string;
  /** The `local.install` argv; null when the release has none. */
  install: readonly string[] | null;
  state: ToolchainStateName;
  /** The marker, when one was read (installed or stale). */
  marker: ToolchainMarker | null;
  /** Absolute path of the marker file. */
  markerPath: string;
}

/**
 * An argv as one line for messages and tables: shell-quoted words, a multi-line `sh -c` script
 * folded onto one line, cut at `max` characters.
 */
export function commandText(argv: readonly string[], max = 120): string {
  const text = argv.map((word) => shellWord(word.trim().replace(/\s*\n\s*/g, '; '))).join(' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function markerPathOf(release: Release): string {
  return join(release.dir, MARKER_FILE);
}

export function lockPathOf(release: Release): string {
  return join(release.dir, LOCK_FILE);
}

/** The folder `local.install` runs in: the release folder joined with local.cwd, as the process executor's. */
export function installDirOf(release: Release): string {
  return join(release.dir, release.local?.cwd ?? '.');
}

/** Where one release's toolchain stands. Reads one small file; never throws for a bad marker (stale). */
export function toolchainState(release: Release): ToolchainState {
  const install = release.local?.install ?? null;
  const markerPath = markerPathOf(release);
  if (install === null) return { release: release.id, install, state: 'not-needed', marker: null, markerPath };
  let text: string;
  try {
    text = readFileSync(markerPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { release: release.id, install, state: 'missing', marker: null, markerPath };
    }
    throw error;
  }
  const marker = parseMarker(text);
  if (marker === null) {
    // A marker leapfrog cannot read says nothing reliable: re-installing is the safe answer.
    log.debug(`${markerPath}: unreadable marker, treated as stale`);
    return { release: release.id, install, state: 'stale', marker: null, markerPath };
  }
  const current = marker.manifestDigest === release.manifestDigest && sameArgv(marker.install, install);
  return { release: release.id, install, state: current ? 'installed' : 'stale', marker, markerPath };
}

/** Every release of the catalog, in catalog order (`toolchains list`). */
export function toolchainStates(catalog: Catalog): ToolchainState[] {
  return catalog.releases.map(toolchainState);
}

function parseMarker(text: string): ToolchainMarker | null {
  try {
    const value = JSON.parse(text) as Partial<ToolchainMarker> | null;
    if (
      value === null ||
      typeof value !== 'object' ||
      value.markerVersion !== 1 ||
      typeof value.manifestDigest !== 'string' ||
      !Array.isArray(value.install) ||
      !value.install.every((a) => typeof a === 'string')
    ) {
      return null;
    }
    return value as ToolchainMarker;
  } catch {
    return null;
  }
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((word, i) => word === b[i]);
}

/** What a run needs to know to check the toolchains of its path (the guards' reading). */
export interface ToolchainRunContext {
  catalog: Catalog;
  /** The saved plan, or null for `--to` (planned here, purely, from `current`). */
  plan: Plan | null;
  to: ReleaseRef | undefined;
  /** The ledger's current release (read-only reading). */
  current: ReleaseRef;
  executorKind: 'process' | 'docker';
}

/**
 * The refusal before anything runs: with the process executor, every release still to run on the
 * path whose manifest has `local.install` must have its toolchain installed for THIS manifest.
 * Missing: exit 2 (nothing to compare; install it). Stale: exit 6 (drift: the manifest changed
 * after the install). The docker executor ignores local.install: images carry their tools.
 */
export function assertToolchainsForRun(context: ToolchainRunContext): void {
  assertToolchainsInstalled(releasesToRun(context), context.executorKind);
}

/**
 * The same refusal for given releases: a run's path (above), or the one release whose check
 * `baseline` runs to verify the database (a check command from an uninstalled toolchain would
 * otherwise fail as "command not found", which reads like a wrong release).
 */
export function assertToolchainsInstalled(releases: readonly Release[], executorKind: 'process' | 'docker'): void {
  if (executorKind !== 'process') return;
  const states = releases.map(toolchainState);
  const missing = states.filter((s) => s.state === 'missing');
  const stale = states.filter((s) => s.state === 'stale');
  log.debug(
    `toolchains on the path (${releases.map((r) => r.id).join(', ') || 'none'}): ${states.map((s) => `${s.release} ${s.state}`).join(', ') || 'nothing to check'}`,
  );
  if (missing.length === 0 && stale.length === 0) return;
  const ids = [...missing, ...stale].map((s) => s.release);
  const hint =
    ids.length === 1
      ? `install it: \`${nextCommand('toolchains install', '--release', ids[0] ?? '')}\`, then run this command again`
      : `install them: \`${nextCommand('toolchains install')}\` (current ones are skipped), then run this command again`;
  const describe = (s: ToolchainState) => `${s.release} (local.install: ${commandText(s.install ?? [])})`;
  const details = {
    missing: missing.map((s) => s.release),
    stale: stale.map((s) => s.release),
    markers: [...missing, ...stale].map((s) => s.markerPath),
  };
  // Missing is the more basic problem (nothing was ever installed): it decides the exit code.
  if (missing.length > 0) {
    const also = stale.length === 0 ? '' : `; stale since its manifest changed: ${stale.map(describe).join(', ')}`;
    throw new BadInputError(
      `the process executor needs the toolchain of ${missing.length === 1 ? 'release' : 'releases'} ${missing.map(describe).join(', ')}, which is not installed${also}; nothing ran`,
      { hint, details },
    );
  }
  throw new DriftError(
    `the toolchain of ${stale.length === 1 ? 'release' : 'releases'} ${stale.map(describe).join(', ')} was installed for another version of its manifest (release.yaml changed since); nothing ran`,
    { hint: hint.replace(/^install/, 're-install'), details },
  );
}

/**
 * The releases whose commands this run may execute: the plan's steps after the current release,
 * or the in-memory plan from the current release to `to`. A path that cannot be planned (nothing
 * to do, a downgrade, a stale plan) is not this check's to report: the pipeline refuses it later
 * with its own exit code, so here it needs no toolchain.
 */
function releasesToRun(context: ToolchainRunContext): Release[] {
  const { catalog, current } = context;
  let steps: readonly { release: string }[];
  if (context.plan !== null) {
    const { plan } = context;
    const position = plan.steps.findIndex((s) => s.release === current.release);
    // Neither the plan's start nor one of its stops: a stale plan, refused later (exit 6).
    if (position === -1 && plan.from.release !== current.release) return [];
    steps = plan.steps.slice(position + 1);
  } else if (context.to !== undefined) {
    try {
      steps = planPath(catalog, current.release, context.to.release).steps;
    } catch (error) {
      if (error instanceof LeapfrogError) return [];
      throw error;
    }
  } else {
    return [];
  }
  const byId = new Map(catalog.releases.map((r) => [r.id, r]));
  return steps.flatMap((s) => {
    const release = byId.get(s.release);
    return release === undefined ? [] : [release];
  });
}
