import type { DatabaseTarget } from '../pg/database-target.js';
import type { LedgerState } from './ledger.js';
import { openPostgresLedger } from './open-ledger.js';

/**
 * The database's recorded release without writing anything: null when there is no ledger schema
 * yet or it records no release. Refusals ("not baselined") are decided from this before any run
 * creates the ledger, so that a refused command leaves the database exactly as it found it.
 */
export async function readBaseline(target: DatabaseTarget, schema: string): Promise<LedgerState | null> {
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  if (ledger === null) return null;
  try {
    return await ledger.currentRelease();
  } finally {
    await ledger[Symbol.asyncDispose]();
  }
}
