import type { ExitCodeMap, ExitCodeMeaning } from '../../catalog/release.js';
import { base, killedOutcome, type CheckResult, type Invoke, type ProtocolOutcome } from './protocol-outcome.js';

/**
 * A third-party command's own exit codes, described in the manifest instead of a named protocol
 * (`keystone-manage db_sync --check`: 0 up to date, 2/3/4 expand/migrate/contract needed).
 * green and warning pass (warning is reported); red is a red light in preflight and check (exit 3)
 * and a failed command in schema (exit 1), saying the map called it red; error, or a code the map
 * does not list, is a failed command (exit 1) naming the code and the map.
 *
 * The command's verdict is shown as one check named after the command, so renderers, ledger rows
 * and JSON output show it like upgradecheck's checks.
 */
export async function runExitCodeMap(
  invoke: Invoke,
  command: readonly string[],
  map: ExitCodeMap,
  timeoutMs: number,
  kind: 'check' | 'schema',
): Promise<ProtocolOutcome> {
  const run = await invoke(command);
  const killed = killedOutcome(run, 1, timeoutMs);
  if (killed) return killed;
  const code = run.exitCode;
  const meaning: ExitCodeMeaning | undefined = code === null ? undefined : map.exitCodes[code];
  const said = `exited with code ${code ?? 'none'}, which the exit-code map (${describeMap(map)})`;
  const check = (result: number): CheckResult[] =>
    kind === 'check'
      ? [{ check: command.join(' '), result, details: `exit ${code ?? 'none'}: ${meaning ?? 'unlisted'}` }]
      : [];
  switch (meaning) {
    case 'green':
      return { ...base(run, 1, 'succeeded', null), checks: check(0) };
    case 'warning':
      return { ...base(run, 1, 'succeeded', `warning: ${said} calls warning`), checks: check(1), warning: true };
    case 'red':
      return { ...base(run, 1, kind === 'check' ? 'red' : 'failed', `${said} calls red`), checks: check(2) };
    case 'error':
      return { ...base(run, 1, 'failed', `${said} calls error`), checks: [] };
    case undefined:
      return { ...base(run, 1, 'failed', `${said} does not list (an unlisted code is an error)`), checks: [] };
  }
}

/** "0 green, 2 red, 3 red" in code order, as the manifest would say it. */
export function describeMap(map: ExitCodeMap): string {
  return Object.entries(map.exitCodes)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([code, meaning]) => `${code} ${meaning}`)
    .join(', ');
}
