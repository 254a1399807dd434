import type Dockerode from 'dockerode';
import { BadInputError } from '../errors/index.js';
import { logger } from '../util/logger.js';

const log = logger('docker');

export interface DockerConnectionOptions {
  /** Path of the engine's unix socket; default: DOCKER_HOST, then /var/run/docker.sock. */
  socketPath?: string;
}

/**
 * Opens the Docker Engine API and checks that it answers, so that every later failure is about
 * an image or a container, never a confusing ECONNREFUSED in the middle of a run. dockerode
 * (~270 ms CPU to load) is imported here, lazily, at the one place an engine is opened: the
 * images modules are imported statically by verbs that only sometimes talk to Docker (`apply
 * --plan` compares pinned digests only when the plan pins some), and those must not pay for it.
 */
export async function connectDocker(options: DockerConnectionOptions = {}): Promise<Dockerode> {
  const docker = await tryConnectDocker(options);
  if (docker === null) {
    const where = options.socketPath ?? process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
    throw new BadInputError(`the Docker Engine does not answer at ${where}`, {
      hint: 'start dockerd (or set DOCKER_HOST / --docker-socket), check `docker info`, or run with --executor process',
      details: { docker: where },
    });
  }
  return docker;
}

/** Like connectDocker, but null when no engine answers: for callers to whom Docker is optional. */
export async function tryConnectDocker(options: DockerConnectionOptions = {}): Promise<Dockerode | null> {
  const { default: DockerodeClass } = await import('dockerode');
  const docker =
    options.socketPath === undefined ? new DockerodeClass() : new DockerodeClass({ socketPath: options.socketPath });
  const where = options.socketPath ?? process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
  log.debug(`pinging the Docker Engine at ${where}`);
  try {
    await withTimeout(docker.ping(), 5_000);
    return docker;
  } catch (error) {
    // The caller turns "no engine" into its own answer (an error, or "nothing to compare").
    log.suppressed(`pinging the Docker Engine at ${where}`, error);
    return null;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The HTTP status dockerode attaches to an Engine API error (404 no such image, 409 conflict…). */
export function dockerStatusCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const code = error.statusCode;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

/** The Engine's own message (`json.message`) when it gave one, else the error's message. */
export function dockerMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const json = (error as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') {
      return (json as { message: string }).message;
    }
    if (error instanceof Error) return error.message;
  }
  return String(error);
}
