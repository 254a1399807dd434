import type { SqlCheck } from '../catalog/release.js';
import { logger } from '../util/logger.js';
import { readAppVersion, SqlProbeError, type SqlProbe, type SqlRows } from './sql-probe.js';

const log = logger('checks');

/** Rows shown in a check's details; the rest are counted ("and 12 more rows"). */
const ROWS_SHOWN = 3;
/** A value longer than this is cut: details are one line per check, not a dump. */
const VALUE_CHARS = 80;

/** One evaluated green light, in upgradecheck's terms: 0 success, 1 warning, 2 failure. */
export interface SqlCheckResult {
  check: string;
  result: 0 | 1 | 2;
  details: string | null;
}

/** Why a manifest's SQL gave no verdict: the query failed or hit its statement timeout. */
export class SqlCheckError extends Error {
  constructor(
    message: string,
    /** The check (or "appVersion", "until") whose query failed. */
    readonly check: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SqlCheckError';
  }
}

export interface SqlBudget {
  /** performance.now() value after which no query may run: the phase's time budget. */
  deadline: number;
  /** Stops between queries (the query in flight is bounded by its statement timeout). */
  signal: AbortSignal;
}

/** What a list of SQL checks said; `interrupted` when the signal stopped it between queries. */
export interface SqlChecksOutcome {
  results: SqlCheckResult[];
  interrupted: boolean;
}

/**
 * Runs a phase's `sql` checks in manifest order, each in its own read-only transaction with a
 * statement timeout of what is left of the phase's budget. GREEN when a query returns no rows;
 * the rows it returns are the details, and the check is a warning or a failure by its severity.
 * Every check runs (like upgradecheck, all are reported); a query that errors or times out throws
 * SqlCheckError naming the check: the check gave no verdict, which is not a red light.
 */
export async function runSqlChecks(
  probe: SqlProbe,
  checks: readonly SqlCheck[],
  budget: SqlBudget,
): Promise<SqlChecksOutcome> {
  const results: SqlCheckResult[] = [];
  for (const check of checks) {
    if (budget.signal.aborted) return { results, interrupted: true };
    const rows = await queryWithin(probe, check.name, check.query, budget);
    const green = rows.rows.length === 0;
    log.debug(`sql check "${check.name}": ${green ? 'green' : `${rows.rows.length} row(s), ${check.severity}`}`);
    results.push({
      check: check.name,
      result: green ? 0 : check.severity === 'warning' ? 1 : 2,
      details: green ? null : formatRows(rows),
    });
  }
  return { results, interrupted: false };
}

/**
 * The check phase's last word when the release says what the application reports at it
 * (`appVersion`): success when the application's own version equals `equals`, a failure naming
 * both otherwise (the step does not advance). A query error throws SqlCheckError.
 */
export async function checkAppVersion(
  probe: SqlProbe,
  appVersion: { sql: string; equals: string },
  release: string,
  budget: SqlBudget,
): Promise<SqlCheckResult> {
  const timeoutMs = remainingMs(budget, 'appVersion');
  let says: string | null;
  try {
    says = await readAppVersion(probe, appVersion.sql, timeoutMs);
  } catch (error) {
    throw sqlCheckError('appVersion', error);
  }
  const check = `appVersion equals ${appVersion.equals}`;
  if (says === appVersion.equals) return { check, result: 0, details: null };
  return {
    check,
    result: 2,
    details:
      says === null
        ? `the application says nothing (appVersion.sql returned no value); release ${release} expects ${appVersion.equals}`
        : `the application says ${says}; release ${release} expects ${appVersion.equals}`,
  };
}

/** One query with the rest of the budget as its statement timeout; failures become SqlCheckError. */
export async function queryWithin(probe: SqlProbe, name: string, sql: string, budget: SqlBudget): Promise<SqlRows> {
  const timeoutMs = remainingMs(budget, name);
  try {
    return await probe.query(sql, timeoutMs);
  } catch (error) {
    throw sqlCheckError(name, error);
  }
}

function remainingMs(budget: SqlBudget, name: string): number {
  const left = Math.floor(budget.deadline - performance.now());
  if (left < 1) throw new SqlCheckError(`the phase's time budget ran out before "${name}" could run`, name, true);
  return left;
}

function sqlCheckError(name: string, error: unknown): SqlCheckError {
  const timedOut = error instanceof SqlProbeError && error.timedOut;
  const message = error instanceof Error ? error.message : String(error);
  return new SqlCheckError(message, name, timedOut, { cause: error });
}

/**
 * Returned rows as one compact line: one column shows its values ("pgboss.schedule is missing"),
 * several show `column=value`; the first few rows, then how many more.
 */
export function formatRows({ columns, rows }: SqlRows): string {
  const shown = rows.slice(0, ROWS_SHOWN).map((row) => {
    if (columns.length === 1) return formatValue(row[columns[0] as string]);
    return columns.map((column) => `${column}=${formatValue(row[column])}`).join(', ');
  });
  const more = rows.length - shown.length;
  const text = shown.length === 1 ? (shown[0] as string) : shown.map((s) => `(${s})`).join('; ');
  return more > 0 ? `${text}; and ${more} more row${more === 1 ? '' : 's'}` : text;
}

function formatValue(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = 'NULL';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') text = String(value);
  else if (value instanceof Date) text = value.toISOString();
  else text = JSON.stringify(value) ?? typeof value;
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > VALUE_CHARS ? `${oneLine.slice(0, VALUE_CHARS - 1)}…` : oneLine;
}
