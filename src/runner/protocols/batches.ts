import type { DataCommand } from '../../catalog/release.js';
import { base, killedOutcome, type Invocation, type Invoke, type ProtocolOutcome } from './protocol-outcome.js';

/**
 * batches (nova-manage / cinder-manage `online_data_migrations --max-count N`): 0 nothing (more)
 * to do; 1 some migrated, run again; 2 errors and no progress, stop at once; 127 bad input;
 * anything else failed. `stallAfter` runs in a row without progress fail the phase, so a
 * migration that cannot finish never loops forever.
 *
 * Progress of a run: when the command prints progress lines, done > 0 (in the line's own unit:
 * rows, jobs, batches…) or a smaller total remaining than the run before; when it prints none,
 * its exit 1 ("some migrated") is trusted, and the phase timeout is the bound.
 */
export async function runBatches(invoke: Invoke, data: DataCommand, timeoutMs: number): Promise<ProtocolOutcome> {
  // The caller runs an until-only data phase (no command) as a SQL gate, never through here.
  if (data.run === undefined) throw new Error('runBatches: the data phase has no command');
  const command = substituteBatchSize(data.run, data.batchSize);
  let invocations = 0;
  let rowsMigrated = 0;
  let stalled = 0;
  let lastRemaining: number | null = null;
  let durationMs = 0;
  for (;;) {
    const run = await invoke(command);
    invocations += 1;
    durationMs += run.durationMs;
    const rowsThisRun = sum([...run.progress.values()].map((p) => p.done));
    rowsMigrated += rowsThisRun;
    const finish = (status: ProtocolOutcome['status'], message: string | null): ProtocolOutcome => ({
      ...base(run, invocations, status, message),
      rowsMigrated,
      durationMs,
    });
    const killed = killedOutcome(run, invocations, timeoutMs);
    if (killed) return { ...killed, rowsMigrated, durationMs };
    switch (run.exitCode) {
      case 0:
        return finish('succeeded', null);
      case 1: {
        const remaining = run.progress.size === 0 ? null : sum([...run.progress.values()].map((p) => p.remaining));
        const progressed =
          run.progress.size === 0 ||
          rowsThisRun > 0 ||
          (lastRemaining !== null && remaining !== null && remaining < lastRemaining);
        if (remaining !== null) lastRemaining = remaining;
        stalled = progressed ? 0 : stalled + 1;
        if (stalled >= data.stallAfter) return finish('failed', stallMessage(run, stalled));
        continue;
      }
      case 2:
        return finish('failed', 'exited with code 2: data migrations hit errors and made no progress');
      case 127:
        return finish(
          'failed',
          'exited with code 127: the command rejected its input (check the data command and {batchSize})',
        );
      default:
        return finish('failed', `exited with code ${run.exitCode ?? 'none'}`);
    }
  }
}

export function substituteBatchSize(run: readonly string[], batchSize: number): string[] {
  return run.map((arg) => arg.split('{batchSize}').join(String(batchSize)));
}

function stallMessage(run: Invocation, runs: number): string {
  const stuck = [...run.progress.values()].filter((p) => p.remaining > 0).sort((a, b) => b.remaining - a.remaining);
  const first = stuck[0];
  const what =
    first === undefined
      ? 'the data migrations'
      : `migration ${first.migration} (${first.remaining} ${first.unit} remaining${stuck.length > 1 ? `; ${stuck.length - 1} other migration(s) also unfinished` : ''})`;
  return `stalled: ${what} made no progress in ${runs} runs in a row`;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
