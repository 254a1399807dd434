import type { DockerExecutorOptions } from './docker-executor.js';
import type { PhaseExecutor } from './phase-executor.js';

export type ExecutorKind = 'process' | 'docker';

export interface CreateExecutorOptions {
  /** Time between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
  /** The docker executor's settings (`--docker-network`, user, read-only rootfs, socket). */
  docker?: DockerExecutorOptions;
}

/**
 * The one place that turns `--executor` into an implementation; heavy modules load only for
 * the kind asked for.
 */
export async function createExecutor(kind: ExecutorKind, options: CreateExecutorOptions = {}): Promise<PhaseExecutor> {
  if (kind === 'process') {
    const { ProcessExecutor } = await import('./process-executor.js');
    return new ProcessExecutor(options);
  }
  return createDocker(options);
}

async function createDocker(options: CreateExecutorOptions): Promise<PhaseExecutor> {
  const { createDockerExecutor } = await import('./docker-executor.js');
  return createDockerExecutor(options.docker ?? {});
}
