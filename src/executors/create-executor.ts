import type { DockerExecutorOptions } from './docker-executor.js';
import type { PhaseExecutor } from './phase-executor.js';
import { ProcessExecutor } from './process-executor.js';

export type ExecutorKind = 'process' | 'docker';

export interface CreateExecutorOptions {
  /** Time between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
  /** The docker executor's settings (`--docker-network`, user, read-only rootfs, socket). */
  docker?: DockerExecutorOptions;
}

/**
 * The one place that turns `--executor` into an implementation. The process executor needs only
 * node:child_process; the docker executor is imported here, lazily, because this is where it
 * starts: dockerode (~270 ms CPU to load) must never load on the process-executor path.
 */
export async function createExecutor(kind: ExecutorKind, options: CreateExecutorOptions = {}): Promise<PhaseExecutor> {
  if (kind === 'process') return new ProcessExecutor(options);
  const { createDockerExecutor } = await import('./docker-executor.js');
  return createDockerExecutor(options.docker ?? {});
}
