/** The oslo.upgradecheck result codes: the contract of the `upgradecheck` protocol. */
export type CheckResultCode = 0 | 1 | 2;

export interface CheckOutcome {
  check: string;
  result: CheckResultCode;
  details: string | null;
}

/** What `--json` prints: the shape `*-status upgrade check --json` prints. */
export interface UpgradeCheckReport {
  name: string;
  checks: readonly CheckOutcome[];
}

const LABELS: Record<CheckResultCode, string> = { 0: 'Success', 1: 'Warning', 2: 'Failure' };

/** The command's exit code is the worst result, as oslo.upgradecheck returns it. */
export function worstResult(report: UpgradeCheckReport): CheckResultCode {
  return report.checks.reduce<CheckResultCode>((worst, c) => (c.result > worst ? c.result : worst), 0);
}

/** The human table, in oslo.upgradecheck's words. */
export function formatReport(report: UpgradeCheckReport): string {
  const lines = [report.name, ''];
  for (const c of report.checks) {
    lines.push(`Check: ${c.check}`, `  Result: ${LABELS[c.result]}`);
    if (c.details !== null) lines.push(`  Details: ${c.details}`);
  }
  return `${lines.join('\n')}\n`;
}
