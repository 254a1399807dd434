import type pg from 'pg';
import type { DatabaseTarget } from '../pg/database-target.js';
import { withClient } from '../pg/with-client.js';
import { logger } from '../util/logger.js';

const log = logger('backup');

/**
 * Which database a backup belongs to. A URL's host and port are not an identity (the same
 * database is reached as localhost, by its service name, through a pooler), so leapfrog uses:
 * - `databaseId`: a UUID its ledger writes once, when the ledger is created. It lives inside the
 *   database, so it travels with every dump of it: a restored database carries the identity of
 *   the dump it came from, which is what it now is.
 * - `systemIdentifier` (pg_control_system(), unique per server cluster, null when the role may
 *   not read it) and `databaseName`: the fallback for a backup or a database without a ledger
 *   identity (taken before `baseline`, or by a leapfrog older than the identity).
 * See docs/restore.md, "Which database a backup belongs to".
 */
export interface DatabaseIdentity {
  databaseId: string | null;
  systemIdentifier: string | null;
  databaseName: string | null;
}

export const UNKNOWN_IDENTITY: DatabaseIdentity = { databaseId: null, systemIdentifier: null, databaseName: null };

/** Reads the identity of the database `client` is connected to; `schema` is its ledger's. */
export async function readDatabaseIdentity(client: pg.ClientBase, schema: string): Promise<DatabaseIdentity> {
  const { rows } = await client.query<{ name: string; has_identity: boolean }>(
    `SELECT current_database() AS name, to_regclass($1) IS NOT NULL AS has_identity`,
    [`"${schema}".identity`],
  );
  const databaseName = rows[0]?.name ?? null;
  let databaseId: string | null = null;
  if (rows[0]?.has_identity === true) {
    const id = await client.query<{ database_id: string }>(
      `SELECT database_id::text AS database_id FROM "${schema}".identity`,
    );
    databaseId = id.rows[0]?.database_id ?? null;
  }
  let systemIdentifier: string | null = null;
  try {
    const sys = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = sys.rows[0]?.id ?? null;
  } catch (error) {
    // A role without the right to read the control file (or a server before 9.6): the UUID
    // alone identifies the database then.
    log.suppressed('reading pg_control_system() for the database identity', error);
  }
  return { databaseId, systemIdentifier, databaseName };
}

export function identityOf(target: DatabaseTarget, schema: string): Promise<DatabaseIdentity> {
  return withClient(target, (client) => readDatabaseIdentity(client, schema));
}

/**
 * True when a backup recorded `backup` is of the database `database`: the ledger UUIDs when both
 * have one, otherwise the server's system identifier and the database name. A backup that
 * recorded neither (a sidecar written before leapfrog recorded identities) belongs to no
 * database: it is listed, but never offered as anyone's way back.
 */
export function sameDatabase(backup: DatabaseIdentity, database: DatabaseIdentity): boolean {
  if (backup.databaseId !== null && database.databaseId !== null) return backup.databaseId === database.databaseId;
  if (backup.systemIdentifier === null || backup.databaseName === null) return false;
  return backup.systemIdentifier === database.systemIdentifier && backup.databaseName === database.databaseName;
}

/** True when the backup recorded nothing that could tell whose it is. */
export function isUnknownIdentity(identity: DatabaseIdentity): boolean {
  return identity.databaseId === null && (identity.systemIdentifier === null || identity.databaseName === null);
}

/** `shop (id 4b1f…e2, server 7312…)`: the name people know, plus what tells two `shop`s apart. */
export function describeIdentity(identity: DatabaseIdentity): string {
  if (isUnknownIdentity(identity)) return identity.databaseName ?? 'an unknown database';
  const parts = [
    identity.databaseId === null ? null : `id ${identity.databaseId}`,
    identity.systemIdentifier === null ? null : `server ${identity.systemIdentifier}`,
  ].filter((p) => p !== null);
  return `${identity.databaseName ?? '?'} (${parts.join(', ')})`;
}
