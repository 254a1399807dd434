import { base, killedOutcome, type CheckResult, type Invoke, type ProtocolOutcome } from './protocol-outcome.js';

/**
 * upgradecheck (oslo.upgradecheck, `*-status upgrade check --json`): 0 green; 1 warning, the
 * step proceeds and the warning is reported; 2 failure and 255 error are red. Any other code
 * means the command itself failed to run properly.
 */
export async function runUpgradeCheck(
  invoke: Invoke,
  command: readonly string[],
  timeoutMs: number,
): Promise<ProtocolOutcome> {
  const run = await invoke(command);
  const killed = killedOutcome(run, 1, timeoutMs);
  if (killed) return killed;
  const checks = parseUpgradeCheckOutput(run.stdout);
  const outcome = (status: ProtocolOutcome['status'], message: string | null, warning = false): ProtocolOutcome => ({
    ...base(run, 1, status, message),
    checks,
    warning,
  });
  switch (run.exitCode) {
    case 0:
      return outcome('succeeded', null);
    case 1:
      return outcome('succeeded', `warning: ${summarise(checks, 1) || 'the check reported a warning'}`, true);
    case 2:
      return outcome('red', `failure: ${summarise(checks, 2) || 'the check reported a failure'}`);
    case 255:
      return outcome('red', `error (255): ${summarise(checks, 2) || 'the check could not run to completion'}`);
    default:
      return outcome(
        'failed',
        `exited with code ${run.exitCode ?? 'none'}, which the upgradecheck protocol does not define`,
      );
  }
}

function summarise(checks: readonly CheckResult[], atLeast: number): string {
  return checks
    .filter((c) => c.result >= atLeast)
    .map((c) => (c.details === null ? c.check : `${c.check}: ${c.details}`))
    .join('; ');
}

/**
 * Finds `{"name":…,"checks":[…]}` in a command's stdout: the whole output (pretty-printed JSON)
 * or any single line of it (JSON among log lines). Returns [] when there is none.
 */
export function parseUpgradeCheckOutput(stdout: readonly string[]): CheckResult[] {
  const whole = stdout.join('\n');
  const candidates = [whole, ...stdout];
  const first = whole.indexOf('{');
  const last = whole.lastIndexOf('}');
  if (first !== -1 && last > first) candidates.push(whole.slice(first, last + 1));
  for (const text of candidates) {
    const checks = checksOf(text);
    if (checks !== null) return checks;
  }
  return [];
}

function checksOf(text: string): CheckResult[] | null {
  // Only an object can hold checks: anything else (most often no output at all) is not parsed,
  // since a failed JSON.parse costs an exception with its stack on every check phase.
  if (!text.trimStart().startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const checks = (value as { checks?: unknown }).checks;
  if (!Array.isArray(checks)) return null;
  const out: CheckResult[] = [];
  for (const item of checks as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { check, result, details } = item as Record<string, unknown>;
    if (typeof check !== 'string' || typeof result !== 'number') continue;
    out.push({ check, result, details: typeof details === 'string' && details !== '' ? details : null });
  }
  return out;
}
