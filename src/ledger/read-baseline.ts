import type { DatabaseTarget } from '../pg/database-target.js';
import type { LedgerState } from './ledger.js';
import { openPostgresLedger } from './open-ledger.js';
import { ledgerDamage } from './migrations.js';
import { connectClient } from '../pg/connect.js';

/**
 * The database's recorded release without writing anything: null when there is no ledger schema
 * yet or it records no release. Refusals ("not baselined") are decided from this before any run
 * creates the ledger, so that a refused command leaves the database exactly as it found it.
 * A damaged ledger is refused (exit 2), except with `repair` (`baseline --force`), where it
 * counts as not baselined: what it records cannot be trusted, and the baseline rebuilds it.
 */
export async function readBaseline(target: DatabaseTarget, schema: string, options: { repair?: boolean } = {}): Promise<LedgerState | null> {
  if (options.repair === true && (await isDamaged(target, schema))) return null;
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  if (ledger === null) return null;
  try {
    return await ledger.currentRelease();
  } finally {
    await ledger[Symbol.asyncDispose]();
  }
}

async function isDamaged(target: DatabaseTarget, schema: string): Promise<boolean> {
  const client = await connectClient(target, 'leapfrog ledger');
  try {
    const damage = await ledgerDamage(client, schema);
    return damage !== null && damage.length > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
