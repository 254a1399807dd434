import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Release } from '../catalog/release.js';
import { PhaseFailedError } from '../errors/index.js';
import { OutputTail } from './output-tail.js';
import { inheritableEnvironment } from './phase-environment.js';
import type { OutputStream, PhaseExecutor, PhaseRunOptions, PhaseRunResult } from './phase-executor.js';

export interface ProcessExecutorOptions {
  /** Time between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
}

/**
 * Runs phase commands as local processes inside the release folder, with the release's
 * `local.path` (its virtualenv-like bin folders) first on PATH: the model of OpenStack-Ansible's
 * leap-upgrades, one folder per release. No shell: the argv goes to the OS as is.
 */
export class ProcessExecutor implements PhaseExecutor {
  readonly kind = 'process';
  private readonly killGraceMs: number;

  constructor(options: ProcessExecutorOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? 3000;
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  async run(command: readonly string[], options: PhaseRunOptions): Promise<PhaseRunResult> {
    const [file, ...args] = command;
    if (file === undefined) {
      throw new PhaseFailedError(`release ${options.release.id}, phase ${options.phase}: the command is empty`, {
        hint: `give the phase a command in ${options.release.file}`,
      });
    }
    const { execa } = await import('execa');
    const started = performance.now();
    const tail = new OutputTail();
    const env = environmentFor(options.release, options.env);
    // Its own process group (detached), so a stop reaches the command's children too.
    const subprocess = execa(file, args, {
      cwd: join(options.release.dir, options.release.local?.cwd ?? '.'),
      // The whole environment, built here: execa must not add leapfrog's own DATABASE_URL/PG*.
      env,
      extendEnv: false,
      detached: true,
      stdin: 'ignore',
      buffer: false,
      reject: false,
    });
    const lines = Promise.all([
      readLines(subprocess.stdout, 'stdout', tail, options.onLine),
      readLines(subprocess.stderr, 'stderr', tail, options.onLine),
    ]);

    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (subprocess.pid === undefined || killTimer !== undefined) return;
      signalGroup(subprocess.pid, 'SIGTERM');
      const pid = subprocess.pid;
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });

    try {
      const result = await subprocess;
      await lines;
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        throw new PhaseFailedError(
          `release ${options.release.id}, phase ${options.phase}: cannot run \`${command.join(' ')}\`: ${result.code === 'ENOENT' ? 'command not found' : result.shortMessage}`,
          {
            hint: `check ${options.release.file}: the command must be on PATH or in the release's local.path (${(options.release.local?.path ?? []).join(', ') || 'none set'})`,
            details: { release: options.release.id, phase: options.phase, command: [...command], code: result.code },
          },
        );
      }
      const killed = result.exitCode === undefined;
      return {
        exitCode: killed ? null : (result.exitCode ?? null),
        timedOut,
        aborted,
        durationMs: performance.now() - started,
        outputTail: tail.toArray(),
      };
    } finally {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      // Children that outlived their parent in the group go too, so nothing keeps writing.
      if (subprocess.pid !== undefined && (timedOut || aborted)) signalGroup(subprocess.pid, 'SIGKILL');
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * leapfrog's environment without what selects a database, then the phase env; the release's
 * local.path folders go first on PATH.
 */
export function environmentFor(
  release: Release,
  extra: Readonly<Record<string, string>>,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = { ...inheritableEnvironment(parent), ...extra };
  const basePath = extra['PATH'] ?? parent['PATH'] ?? '';
  const local = (release.local?.path ?? []).map((p) => (isAbsolute(p) ? p : resolve(release.dir, p)));
  env['PATH'] = [...local, basePath].filter((p) => p !== '').join(delimiter);
  return env;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function readLines(
  stream: Readable | null,
  name: OutputStream,
  tail: OutputTail,
  onLine: (line: string, stream: OutputStream) => void,
): Promise<void> {
  if (stream === null) return;
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of reader) {
    tail.push(line);
    onLine(line, name);
  }
}
