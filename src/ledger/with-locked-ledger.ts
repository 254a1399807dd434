import type { DatabaseTarget } from '../pg/database-target.js';
import { AsyncDisposableStack } from '../util/disposable-stack.js';
import type { Ledger } from './ledger.js';
import { acquireLedgerLock } from './ledger-lock.js';
import { LedgerSession } from './open-ledger.js';

export interface LockedLedgerOptions {
  schema: string;
  lockTimeoutMs: number;
  signal?: AbortSignal;
  /** `baseline --force`: rebuild a damaged ledger instead of refusing it. */
  repair?: boolean;
}

/**
 * Takes the lock first, then opens the ledger session (migrating it only when behind), claims
 * the fencing token (so every write of this run is checked against the lock it holds), runs
 * `fn`, and releases both in reverse order. A cleanup failure never hides the first error
 * (AsyncDisposableStack). The run pipeline (src/upgrade) does the same in its own order: it reads
 * the ledger read-only before it locks, so that refusals write nothing.
 */
export async function withLockedLedger<T>(
  target: DatabaseTarget,
  options: LockedLedgerOptions,
  fn: (ledger: Ledger) => Promise<T>,
): Promise<T> {
  await using stack = new AsyncDisposableStack();
  const lock = stack.use(
    await acquireLedgerLock(target, {
      schema: options.schema,
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
    }),
    'the ledger lock',
  );
  const session = stack.use(
    await LedgerSession.open(target, options.schema, { repair: options.repair === true }),
    'the ledger session',
  );
  const ledger = await session.underLock(lock, { repair: options.repair === true });
  return await fn(ledger);
}
