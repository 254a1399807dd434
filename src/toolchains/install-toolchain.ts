/**
 * `leapfrog toolchains install`: runs each release's `local.install` argv once in its folder, with
 * a clean, explicit environment, and writes the marker (toolchain-state.ts) only after it
 * succeeded. A release whose marker is current is skipped, so running it again is cheap; a failed
 * or stopped install leaves no marker, so the run that needs it refuses instead of finding half a
 * node_modules. One install per release at a time: a lock file created exclusively.
 */
import { spawn } from 'node:child_process';
import { link, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Release } from '../catalog/release.js';
import { BadInputError, InterruptedError, LockHeldError, PhaseFailedError } from '../errors/index.js';
import { selectsDatabase } from '../executors/phase-environment.js';
import { OutputLines } from '../executors/output-lines.js';
import type { OutputStream } from '../executors/phase-executor.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import {
  commandText,
  installDirOf,
  lockPathOf,
  markerPathOf,
  toolchainState,
  type ToolchainMarker,
  type ToolchainStateName,
} from './toolchain-state.js';

const log = logger('toolchains');

/** What an install prints as it goes; the CLI renders them (plain lines, a status line, or JSON). */
export type ToolchainEvent =
  | { type: 'toolchain-skipped'; release: string; state: Extract<ToolchainStateName, 'installed' | 'not-needed'> }
  | {
      type: 'toolchain-install-started';
      release: string;
      command: readonly string[];
      /** The argv as one line, for people. */
      commandText: string;
      dir: string;
      index: number;
      total: number;
    }
  | { type: 'toolchain-install-output'; release: string; stream: OutputStream; line: string }
  | { type: 'toolchain-installed'; release: string; seconds: number };

export interface InstallOptions {
  releases: readonly Release[];
  /** Re-install even when the marker is current. */
  force: boolean;
  signal: AbortSignal;
  /** One install's limit; it is stopped (SIGTERM, then SIGKILL) after it. */
  timeoutMs: number;
  /** Recorded in the marker, so a marker says which leapfrog wrote it. */
  leapfrogVersion: string;
  onEvent: (event: ToolchainEvent) => void;
  /** Time between SIGTERM and SIGKILL when an install is stopped. */
  killGraceMs?: number;
  /** The environment the install's own is picked from; default process.env. */
  parentEnv?: NodeJS.ProcessEnv;
}

export interface InstallOutcome {
  release: string;
  outcome: 'installed' | 'already-installed' | 'not-needed';
  seconds: number | null;
}

/** Lines of output a failure shows. */
const TAIL_LINES = 20;

/**
 * Installs the releases' toolchains in order, stopping at the first failure (exit 1, with the
 * output's tail and the command to re-run), a Ctrl-C (exit 130) or another install holding a
 * release's lock (exit 4). Releases already done stay done: a re-run skips them.
 */
export async function installToolchains(options: InstallOptions): Promise<InstallOutcome[]> {
  const outcomes: InstallOutcome[] = [];
  const toInstall = options.releases.filter((r) => r.local?.install !== undefined);
  let index = 0;
  for (const release of options.releases) {
    const state = toolchainState(release);
    if (state.state === 'not-needed') {
      options.onEvent({ type: 'toolchain-skipped', release: release.id, state: 'not-needed' });
      outcomes.push({ release: release.id, outcome: 'not-needed', seconds: null });
      continue;
    }
    index += 1;
    if (options.signal.aborted) {
      throw new InterruptedError(`interrupted before the toolchain of ${release.id} was installed`, {
        hint: `run it again: \`${nextCommand('toolchains install')}\` (installed ones are skipped)`,
      });
    }
    if (state.state === 'installed' && !options.force) {
      options.onEvent({ type: 'toolchain-skipped', release: release.id, state: 'installed' });
      outcomes.push({ release: release.id, outcome: 'already-installed', seconds: null });
      continue;
    }
    const seconds = await installOne(release, { ...options, index, total: toInstall.length });
    if (seconds === null) {
      options.onEvent({ type: 'toolchain-skipped', release: release.id, state: 'installed' });
      outcomes.push({ release: release.id, outcome: 'already-installed', seconds: null });
    } else {
      outcomes.push({ release: release.id, outcome: 'installed', seconds });
    }
  }
  return outcomes;
}

/** Seconds the install took, or null when another install finished it before this one got the lock. */
async function installOne(
  release: Release,
  options: InstallOptions & { index: number; total: number },
): Promise<number | null> {
  const command = release.local?.install ?? [];
  const rerun = nextCommand('toolchains install', '--release', release.id);
  const dir = installDirOf(release);
  // Said as what it is, not as spawn's ENOENT ("command not found") for a missing cwd.
  if (!(await isDirectory(dir))) {
    throw new BadInputError(
      `release ${release.id}: the folder local.install runs in, ${dir} (local.cwd: ${release.local?.cwd ?? '.'}), does not exist`,
      { hint: `fix local.cwd in ${release.file}, then \`${rerun}\``, details: { release: release.id, dir } },
    );
  }
  await using _lock = await acquireInstallLock(release, rerun);
  // Another install may have finished it while this one looked: null, nothing to do.
  if (!options.force && toolchainState(release).state === 'installed') return null;
  // From here the old marker is wrong whatever happens: an install that fails half-way must not
  // leave a marker that calls the folder installed.
  await rm(markerPathOf(release), { force: true });
  options.onEvent({
    type: 'toolchain-install-started',
    release: release.id,
    command,
    commandText: commandText(command),
    dir,
    index: options.index,
    total: options.total,
  });
  const started = performance.now();
  const result = await runInstall(release, command, dir, options);
  const where = `release ${release.id}: local.install \`${commandText(command)}\` in ${dir}`;
  const tail = result.tail.length === 0 ? '' : `\n  last output:\n${result.tail.map((l) => `    ${l}`).join('\n')}`;
  const details = { release: release.id, command: [...command], dir, exitCode: result.exitCode, tail: result.tail };
  if (result.aborted) {
    throw new InterruptedError(`${where} was stopped (interrupted); no marker was written`, {
      hint: `run it again: \`${rerun}\``,
      details,
    });
  }
  if (result.spawnError !== null) {
    throw new PhaseFailedError(
      `${where}: cannot run it: ${result.spawnError.code === 'ENOENT' ? 'command not found' : result.spawnError.message}`,
      {
        hint: `install \`${command[0] ?? ''}\` on PATH or fix local.install in ${release.file}, then \`${rerun}\``,
        details,
      },
    );
  }
  if (result.timedOut) {
    throw new PhaseFailedError(`${where} did not finish within ${options.timeoutMs} ms and was stopped${tail}`, {
      hint: `run it again with a longer --timeout: \`${nextCommand('toolchains install', '--release', release.id, '--timeout', '1h')}\``,
      details,
    });
  }
  if (result.exitCode !== 0) {
    throw new PhaseFailedError(
      `${where} failed (${result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit ${result.exitCode}`}); no marker was written${tail}`,
      { hint: `fix the cause above, then \`${rerun}\``, details },
    );
  }
  await writeMarker(release, {
    markerVersion: 1,
    release: release.id,
    manifestDigest: release.manifestDigest,
    install: [...command],
    finishedAt: new Date().toISOString(),
    leapfrogVersion: options.leapfrogVersion,
  });
  const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
  options.onEvent({ type: 'toolchain-installed', release: release.id, seconds });
  return seconds;
}

interface InstallRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  spawnError: NodeJS.ErrnoException | null;
  tail: string[];
}

/** The install argv as a child process: no shell, its own process group (a stop reaches npm's children). */
function runInstall(
  release: Release,
  command: readonly string[],
  dir: string,
  options: InstallOptions,
): Promise<InstallRun> {
  const [file = '', ...args] = command;
  const output = new OutputLines(
    (line, stream) => options.onEvent({ type: 'toolchain-install-output', release: release.id, stream, line }),
    TAIL_LINES,
  );
  const grace = options.killGraceMs ?? 3000;
  return new Promise((resolve) => {
    let spawnError: NodeJS.ErrnoException | null = null;
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(file, args, {
      cwd: dir,
      env: installEnvironment(options.parentEnv ?? process.env),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    log.debug(`spawned \`${command.join(' ')}\` (toolchain of ${release.id}) in ${dir}, pid ${child.pid ?? 'none'}`);
    child.stdout.on('data', (chunk: Buffer) => output.write('stdout', chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write('stderr', chunk));
    child.stdout.on('error', (error) => log.suppressed(`reading the install's stdout`, error));
    child.stderr.on('error', (error) => log.suppressed(`reading the install's stderr`, error));
    const stop = (why: string) => {
      const pid = child.pid;
      if (pid === undefined || killTimer !== undefined) return;
      log.debug(`stopping the install of ${release.id} (pid ${pid}, ${why}): SIGTERM, SIGKILL after ${grace} ms`);
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), grace);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop('timed out');
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop('interrupted');
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError ??= error;
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      // Whatever outlived the install in its group goes too, so nothing keeps writing the folder.
      if (child.pid !== undefined && (timedOut || aborted)) signalGroup(child.pid, 'SIGKILL');
      output.end();
      log.debug(`install of ${release.id} ended: ${signal === null ? `exit ${code ?? '?'}` : `signal ${signal}`}`);
      resolve({ exitCode: code, signal, timedOut, aborted, spawnError, tail: output.tail() });
    });
  });
}

/** Exactly these variables (when set) reach an install; everything else of leapfrog's stays out. */
const PASSED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TMPDIR',
  'TZ',
  'LANG',
  'TERM',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
]);
/** Families passed whole: locale, npm's settings (its cache, registry, offline), pip's. */
const PASSED_PREFIXES = ['LC_', 'npm_config_', 'NPM_CONFIG_', 'PIP_'];

/**
 * The clean, explicit environment of an install: PATH, HOME, locale, proxies and certificates,
 * and npm's and pip's own settings (so an operator's npm cache and offline mode apply). Never the
 * database URL or a PG* variable: an install has no business with the database, and a package's
 * install script must not find production's URL.
 */
export function installEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || selectsDatabase(name)) continue;
    if (PASSED.has(name) || PASSED_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  return env;
}

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * The release's install lock: a file created exclusively (O_EXCL), removed when the install ends.
 * Another live install holding it is a refusal (exit 4); a lock left by a process that died on
 * this host (kill -9, a power cut) is taken over.
 */
async function acquireInstallLock(release: Release, rerun: string): Promise<AsyncDisposable> {
  const path = lockPathOf(release);
  const mine: LockContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(mine)}\n`);
      } finally {
        await handle.close();
      }
      log.debug(`${path}: locked by pid ${mine.pid}`);
      return {
        [Symbol.asyncDispose]: async () => {
          await rm(path, { force: true });
          log.debug(`${path}: released`);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(path);
    if (holder !== null && !(await takeOverIfDead(path, holder))) {
      throw new LockHeldError(
        `release ${release.id}: another install of its toolchain is running (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`,
        {
          hint: `wait for it, then \`${nextCommand('toolchains list')}\`; if no install runs any more, remove ${path} and \`${rerun}\``,
          details: { release: release.id, lock: path, holder },
        },
      );
    }
    // holder null: it vanished between our attempt and the read (that install just ended); try again.
  }
  throw new LockHeldError(`release ${release.id}: the toolchain lock ${path} keeps changing hands`, {
    hint: `another install is running: wait for it, then \`${nextCommand('toolchains list')}\``,
    details: { release: release.id, lock: path },
  });
}

async function readLock(path: string): Promise<LockContent | null> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent>;
    if (typeof value.pid === 'number' && typeof value.host === 'string') {
      return { pid: value.pid, host: value.host, startedAt: String(value.startedAt) };
    }
    // Written but not yet filled in by its creator: treat as held.
    return { pid: -1, host: 'unknown', startedAt: 'just now' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (error instanceof SyntaxError) return { pid: -1, host: 'unknown', startedAt: 'just now' };
    throw error;
  }
}

/**
 * True when the holder was a process of this host that no longer exists, and its lock is now
 * gone. The lock is renamed aside first and checked again: of two installs that both found it
 * dead, only one removes the dead lock, and neither removes a live one created in between.
 */
async function takeOverIfDead(path: string, holder: LockContent): Promise<boolean> {
  if (holder.host !== hostname() || holder.pid <= 0 || processAlive(holder.pid)) return false;
  const aside = `${path}.dead-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const moved = await readLock(aside);
  if (moved !== null && moved.pid !== holder.pid) {
    // A live install's lock, created after our read: put it back. link, not rename: it never
    // replaces a lock that a third install created meanwhile.
    await link(aside, path).catch((error: unknown) => log.suppressed(`putting back ${path}`, error));
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  log.debug(`${path}: took over the lock of pid ${holder.pid}, which no longer runs`);
  return true;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeMarker(release: Release, marker: ToolchainMarker): Promise<void> {
  const path = markerPathOf(release);
  const temporary = `${path}.${process.pid}.tmp`;
  // Written aside and renamed: a reader never sees half a marker.
  await writeFile(temporary, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(temporary, path);
  log.debug(`${path}: written (${marker.manifestDigest.slice(0, 19)}…)`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') log.suppressed(`sending ${signal} to group ${pid}`, error);
  }
}
