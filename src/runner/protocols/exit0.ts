import { base, killedOutcome, type Invoke, type ProtocolOutcome } from './protocol-outcome.js';

/** exit0: 0 is success, anything else failed. Schema commands and other one-shot commands. */
export async function runExit0(
  invoke: Invoke,
  command: readonly string[],
  timeoutMs: number,
): Promise<ProtocolOutcome> {
  const run = await invoke(command);
  const killed = killedOutcome(run, 1, timeoutMs);
  if (killed) return killed;
  if (run.exitCode === 0) return base(run, 1, 'succeeded', null);
  return base(run, 1, 'failed', `exited with code ${run.exitCode ?? 'none'}`);
}
