import { hostname } from 'node:os';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { Ledger } from './ledger.js';
import { acquireLedgerLock } from './ledger-lock.js';
import { openPostgresLedger } from './open-ledger.js';

export interface LockedLedgerOptions {
  schema: string;
  lockTimeoutMs: number;
  signal?: AbortSignal;
  /** `baseline --force`: rebuild a damaged ledger instead of refusing it. */
  repair?: boolean;
}

/**
 * Takes the lock first, then opens (and migrates) the ledger, claims the fencing token (so every
 * write of this run is checked against the lock it holds), runs `fn`, and releases both in
 * reverse order. A cleanup failure is thrown only when `fn` succeeded: it never hides the
 * first error.
 */
export async function withLockedLedger<T>(
  target: DatabaseTarget,
  options: LockedLedgerOptions,
  fn: (ledger: Ledger) => Promise<T>,
): Promise<T> {
  const lock = await acquireLedgerLock(target, { schema: options.schema, timeoutMs: options.lockTimeoutMs, signal: options.signal });
  const cleanups: (() => Promise<void>)[] = [() => lock.release()];
  let failed = false;
  try {
    const ledger = await openPostgresLedger(target, { schema: options.schema, migrate: true, repair: options.repair === true });
    if (ledger === null) throw new Error('openPostgresLedger returned null with migrate: true');
    cleanups.unshift(async () => {
      await ledger[Symbol.asyncDispose]();
    });
    await ledger.claimFence(lock, `${hostname()} pid ${process.pid}`);
    // We hold the lock, so a run still marked running belongs to a process that died.
    await ledger.closeAbandonedRuns();
    return await fn(ledger);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await runCleanups(cleanups, failed);
  }
}

/** Runs every cleanup; the first cleanup error is thrown only when nothing failed before. */
export async function runCleanups(cleanups: readonly (() => Promise<void>)[], alreadyFailed: boolean): Promise<void> {
  let first: Error | null = null;
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      first ??= error instanceof Error ? error : new Error(String(error));
    }
  }
  if (first !== null && !alreadyFailed) throw first;
}
