import { randomUUID } from 'node:crypto';
import type { Release } from '../catalog/release.js';
import { InterruptedError, PhaseFailedError } from '../errors/index.js';
import { createExecutor } from '../executors/create-executor.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { runPhaseCommand } from '../runner/phase-command.js';
import type { StepPhase } from '../runner/step-phases.js';
import { logger } from '../util/logger.js';
import { redact } from '../util/redact.js';

const log = logger('rehearse');

export interface FreshInstallOptions {
  /** `--database-url-env` when given; otherwise the manifest's `databaseUrlEnv`, then DATABASE_URL. */
  databaseUrlEnv?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Each output line of the commands, redacted (for a progress display). */
  onLine?: ((line: string) => void) | undefined;
}

/**
 * Installs `release` into an empty database the way the application itself does (the manifest's
 * `fresh.run`, e.g. `graphile-worker --schema-only`), then seeds sample data (`fresh.seed`).
 * Both run exactly like a schema command of that release: the process executor in the release
 * folder with its toolchain on PATH, its env, the URL under its variable, the schema timeout,
 * protocol exit0. A failure is a PhaseFailedError naming the release, the field and the output.
 */
export async function installFresh(
  release: Release,
  target: DatabaseTarget,
  options: FreshInstallOptions = {},
): Promise<void> {
  const fresh = release.fresh;
  if (fresh === undefined) throw new Error(`installFresh: release ${release.id} has no fresh (callers check)`);
  await using executor = await createExecutor('process');
  const runId = `fresh-${randomUUID()}`;
  // The executor's own prerequisites (the release's toolchain is installed), before any command.
  await executor.prepare([release], runId);
  const commands: [field: 'fresh.run' | 'fresh.seed', run: readonly string[] | undefined][] = [
    ['fresh.run', fresh.run],
    ['fresh.seed', fresh.seed],
  ];
  for (const [field, run] of commands) {
    if (run === undefined) continue;
    const phase: StepPhase = { phase: 'schema', name: field, run, protocol: 'exit0', env: {} };
    log.debug(`${release.id}: ${field} ${run.join(' ')} on ${target.display}`);
    const outcome = await runPhaseCommand(
      {
        runId,
        release,
        executor,
        database: { url: target.url, urlEnv: options.databaseUrlEnv },
        secrets: target.secrets,
        signal: options.signal ?? new AbortController().signal,
        // Output lines arrive redacted already (runPhaseCommand redacts the run's secrets).
        emit: (event) => {
          if (event.type === 'phase-output') options.onLine?.(event.line);
        },
      },
      phase,
    );
    if (outcome.status === 'succeeded') continue;
    const tail = outcome.outputTail.slice(-8).map((line) => `    | ${redact(line, target.secrets)}`);
    const where = `${release.file}: ${field} (${run.join(' ')})`;
    if (outcome.status === 'interrupted') {
      throw new InterruptedError(`${where} was interrupted`, { hint: 'run the same command again' });
    }
    throw new PhaseFailedError(
      [`${where} failed on ${target.display}: ${outcome.message ?? 'failed'}`, ...tail].join('\n'),
      {
        hint: `run the command by hand in ${release.dir} against an empty database to see why, fix ${field} in ${release.file}, then run the same command again`,
        details: { release: release.id, field, exitCode: outcome.exitCode, outputTail: outcome.outputTail },
      },
    );
  }
}
