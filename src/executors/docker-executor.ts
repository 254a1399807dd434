import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Release } from '../catalog/release.js';
import { releaseImage } from '../catalog/find-release.js';
import type { LeapfrogError } from '../errors/index.js';
import { BadInputError, PhaseFailedError } from '../errors/index.js';
import { connectDocker, dockerMessage, dockerStatusCode } from '../images/docker-connection.js';
import { OutputLines } from './output-lines.js';
import type { PhaseExecutor, PhaseRunOptions, PhaseRunResult } from './phase-executor.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';

const log = logger('executor:docker');

export interface DockerExecutorOptions {
  /** Container network mode; default `host`, so that a database on localhost is reachable. */
  network?: string;
  /** `user[:group]` the phase commands run as; default: the image's user. */
  user?: string;
  /** Mount the container's root filesystem read-only (a tmpfs is mounted on /tmp). */
  readOnly?: boolean;
  /** The engine's unix socket; default DOCKER_HOST, then /var/run/docker.sock. */
  socketPath?: string;
  /** A connected client to use instead of opening one (benchmarks and tests share one). */
  docker?: Dockerode;
  /** Progress of pulls and reaping, for the operator; never carries secrets. */
  onNotice?: (line: string) => void;
}

/** Labels that identify leapfrog's containers; reaping and the tests rely on these names. */
export const LABEL = {
  run: 'leapfrog.run',
  release: 'leapfrog.release',
  phase: 'leapfrog.phase',
  /** `<host>:<pid>` of the leapfrog process that made the container: only dead owners are reaped. */
  owner: 'leapfrog.owner',
} as const;

/** After the container exited, how long the attached log stream may take to drain. */
const DRAIN_MS = 5_000;

export function createDockerExecutor(options: DockerExecutorOptions = {}): PhaseExecutor {
  return new DockerExecutor(options);
}

/**
 * Runs each phase command in a fresh container of the release's image. One container per phase,
 * not one per step with `docker exec`: the Engine API cannot kill an exec'd process, so a phase
 * timeout or SIGINT could only be honoured by killing the whole step's container; exec skips the
 * image's ENTRYPOINT; and the measured price of a fresh container over exec, ~0.25 s per phase
 * command, made the 100k-row demo path 1.11x the process executor's time (docs/benchmarks.md#docker).
 */
export class DockerExecutor implements PhaseExecutor {
  readonly kind = 'docker' as const;
  readonly #options: DockerExecutorOptions;
  #docker: Dockerode | undefined;
  readonly #owner = `${hostname()}:${process.pid}`;

  constructor(options: DockerExecutorOptions) {
    this.#options = options;
    this.#docker = options.docker;
  }

  async prepare(releases: readonly Release[], runId: string): Promise<void> {
    const docker = await this.#engine();
    await this.reapLeftovers(runId);
    for (const release of releases) await this.#ensureImage(docker, release);
  }

  /**
   * Removes containers left by leapfrog processes that died (SIGKILL, power loss) before their
   * cleanup ran. A container whose owner is still alive belongs to a concurrent run against
   * another database and is left alone; so are containers made on another host.
   */
  async reapLeftovers(currentRunId?: string): Promise<string[]> {
    const docker = await this.#engine();
    const containers = await docker.listContainers({ all: true, filters: { label: [LABEL.run] } });
    const reaped: string[] = [];
    for (const info of containers) {
      const labels = info.Labels;
      if (currentRunId !== undefined && labels[LABEL.run] === currentRunId && labels[LABEL.owner] === this.#owner)
        continue;
      if (!ownerIsGone(labels[LABEL.owner])) continue;
      try {
        log.debug(
          `reaping container ${info.Id.slice(0, 12)} of run ${labels[LABEL.run] ?? '?'} (owner ${labels[LABEL.owner] ?? 'none'} is gone)`,
        );
        await docker.getContainer(info.Id).remove({ force: true });
        reaped.push(info.Id);
        this.#options.onNotice?.(
          `removed leftover container ${info.Id.slice(0, 12)} of run ${labels[LABEL.run] ?? '?'} (release ${labels[LABEL.release] ?? '?'}, phase ${labels[LABEL.phase] ?? '?'})`,
        );
      } catch (error) {
        if (dockerStatusCode(error) !== 404) throw error;
        log.suppressed(`reaping container ${info.Id.slice(0, 12)} (already gone)`, error);
      }
    }
    return reaped;
  }

  async run(command: readonly string[], options: PhaseRunOptions): Promise<PhaseRunResult> {
    const started = performance.now();
    const output = new OutputLines(options.onLine);
    const result = (exitCode: number | null, timedOut: boolean, aborted: boolean): PhaseRunResult => ({
      exitCode,
      timedOut,
      aborted,
      durationMs: performance.now() - started,
      outputTail: output.tail(),
    });
    if (options.signal.aborted) return result(null, false, true);

    const docker = await this.#engine();

    const container = await this.#create(docker, command, options);
    let firstError: unknown;
    try {
      return await this.#attachStartWait(docker, container, options, output, result);
    } catch (error) {
      firstError = error;
      throw error;
    } finally {
      await this.#remove(container, options, firstError);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Containers are removed phase by phase; the client holds no connection worth closing.
  }

  async #create(docker: Dockerode, command: readonly string[], options: PhaseRunOptions): Promise<Dockerode.Container> {
    const { release, phase, runId } = options;
    const image = releaseImage(release, 'the docker executor');
    log.debug(`creating a container of ${image} for \`${command.join(' ')}\` (release ${release.id}, phase ${phase})`);
    try {
      return await docker.createContainer({
        Image: image,
        Cmd: [...command],
        // Exactly the phase environment (phaseEnvironment): nothing of leapfrog's own env, so no
        // DATABASE_URL/PG* of the host. The values include the database URL: they go to the
        // engine only, never to a log.
        Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`),
        Labels: { [LABEL.run]: runId, [LABEL.release]: release.id, [LABEL.phase]: phase, [LABEL.owner]: this.#owner },
        ...(this.#options.user === undefined ? {} : { User: this.#options.user }),
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          NetworkMode: this.#options.network ?? 'host',
          ReadonlyRootfs: this.#options.readOnly === true,
          ...(this.#options.readOnly === true ? { Tmpfs: { '/tmp': 'rw,nosuid,size=64m' } } : {}),
        },
      });
    } catch (error) {
      if (dockerStatusCode(error) === 404) throw missingImageError(release);
      throw new PhaseFailedError(
        `could not create the ${phase} container of release ${release.id} (${image}): ${dockerMessage(error)}`,
        {
          hint: `check \`docker info\` and the image, then re-run the same command; it resumes at the ${phase} phase`,
          cause: error,
          details: { release: release.id, phase, image },
        },
      );
    }
  }

  async #attachStartWait(
    docker: Dockerode,
    container: Dockerode.Container,
    options: PhaseRunOptions,
    output: OutputLines,
    result: (exitCode: number | null, timedOut: boolean, aborted: boolean) => PhaseRunResult,
  ): Promise<PhaseRunResult> {
    // Attach before start, or the first lines of a fast command are lost.
    const raw = await container.attach({ stream: true, stdout: true, stderr: true });
    const drained = demultiplexLines(docker, raw, output);

    // next-exit: the default (not-running) is already true of a created container and returns at once.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    // A failed start still settles wait(); keep it from becoming an unhandled rejection.
    exited.catch((error: unknown) =>
      log.suppressed(`waiting for container ${container.id.slice(0, 12)} (a failed start settles it too)`, error),
    );
    log.debug(`starting container ${container.id.slice(0, 12)}`);
    await container.start();

    let stopReason: 'timeout' | 'abort' | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        stopReason ??= 'timeout';
        resolve();
      }, options.timeoutMs);
      onAbort = () => {
        stopReason ??= 'abort';
        resolve();
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      // An abort while the container was being created fired before this listener existed.
      if (options.signal.aborted) onAbort();
    });
    try {
      const first = await Promise.race([exited.then((status) => ({ status })), stopped.then(() => null)]);
      if (first !== null) {
        log.debug(`container ${container.id.slice(0, 12)} exited with ${first.status.StatusCode}`);
        await withDeadline(drained, DRAIN_MS);
        return result(first.status.StatusCode, false, false);
      }
      log.debug(
        `killing container ${container.id.slice(0, 12)} (${stopReason === 'timeout' ? `timed out after ${options.timeoutMs} ms` : 'aborted'})`,
      );
      await container.kill().catch((error: unknown) => {
        // 409: it exited between the race and the kill; the wait below still settles.
        if (dockerStatusCode(error) !== 409 && dockerStatusCode(error) !== 404) throw error;
        log.suppressed(`killing container ${container.id.slice(0, 12)} (it had already exited)`, error);
      });
      await exited.catch((error: unknown) =>
        log.suppressed(`waiting for the killed container ${container.id.slice(0, 12)}`, error),
      );
      await withDeadline(drained, DRAIN_MS);
      return result(null, stopReason === 'timeout', stopReason === 'abort');
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Always removes the container; a failure here never replaces the error already on its way. */
  async #remove(container: Dockerode.Container, options: PhaseRunOptions, firstError: unknown): Promise<void> {
    log.debug(`removing container ${container.id.slice(0, 12)}`);
    try {
      await container.remove({ force: true });
    } catch (error) {
      if (dockerStatusCode(error) === 404) return;
      if (firstError !== undefined) {
        log.suppressed(`removing container ${container.id.slice(0, 12)} after an earlier error`, error);
        return;
      }
      throw new PhaseFailedError(
        `the ${options.phase} phase of release ${options.release.id} finished, but its container ${container.id.slice(0, 12)} could not be removed: ${dockerMessage(error)}`,
        {
          hint: `remove it with \`docker rm -f ${container.id.slice(0, 12)}\` (the next run also reaps it), then re-run the same command`,
          cause: error,
        },
      );
    }
  }

  async #engine(): Promise<Dockerode> {
    this.#docker ??= await connectDocker(
      this.#options.socketPath === undefined ? {} : { socketPath: this.#options.socketPath },
    );
    return this.#docker;
  }

  /** A missing image is pulled when a registry answers; otherwise the error says how to build it. */
  async #ensureImage(docker: Dockerode, release: Release): Promise<void> {
    const image = releaseImage(release, 'the docker executor');
    try {
      await docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (dockerStatusCode(error) !== 404) throw error;
      log.debug(`image ${image} of release ${release.id} is not present`);
    }
    this.#options.onNotice?.(`image ${image} of release ${release.id} is not present: pulling it`);
    log.debug(`pulling ${image}`);
    try {
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(
          stream,
          (error) => (error ? reject(error) : resolve()),
          (event: { status?: string; progress?: string; error?: string }) => {
            if (event.error !== undefined) reject(new Error(event.error));
            else if (event.status !== undefined)
              this.#options.onNotice?.(`${image}: ${event.status}${event.progress ? ` ${event.progress}` : ''}`);
          },
        );
      });
    } catch (error) {
      throw missingImageError(release, dockerMessage(error));
    }
  }
}

function missingImageError(release: Release, pullFailure?: string): LeapfrogError {
  const image = releaseImage(release, 'the docker executor');
  return new BadInputError(
    `the image ${image} of release ${release.id} is not present on this Docker Engine${pullFailure === undefined ? '' : ` and could not be pulled (${pullFailure})`}`,
    {
      hint: `build it: \`${nextCommand('images build', '--release', release.id)}\` (no registry? add --base-image leapfrog/node-base:local after scripts/build-base-image.sh), or run with --executor process`,
      details: { release: release.id, image },
    },
  );
}

/**
 * Splits the engine's multiplexed attach stream into stdout and stderr and hands on whole lines.
 * Resolves when the stream ended (the container exited) and the last partial lines were flushed.
 */
function demultiplexLines(docker: Dockerode, raw: NodeJS.ReadableStream, output: OutputLines): Promise<void> {
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (chunk: Buffer) => output.write('stdout', chunk));
  err.on('data', (chunk: Buffer) => output.write('stderr', chunk));
  docker.modem.demuxStream(raw, out, err);
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      // 'end' and 'close' both come: flush once.
      if (finished) return;
      finished = true;
      output.end();
      resolve();
    };
    raw.on('end', finish);
    raw.on('close', finish);
    raw.on('error', finish);
  });
}

async function withDeadline(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** True when the owning leapfrog process is known to be dead (same host, no such pid). */
function ownerIsGone(owner: string | undefined): boolean {
  // No owner label: made by something that only mimics leapfrog's labels; it is still ours to reap.
  if (owner === undefined) return true;
  const separator = owner.lastIndexOf(':');
  // Another host shares this engine: its processes cannot be seen from here, so leave it alone.
  if (owner.slice(0, separator) !== hostname()) return false;
  const pid = Number(owner.slice(separator + 1));
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
