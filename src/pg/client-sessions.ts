import type pg from 'pg';
import { ourSessionsEnded } from './connect.js';

/** A session connected to a database, as named in refusals. */
export interface ClientSession {
  pid: number;
  backend_type: string;
  application_name: string;
}

/**
 * The client sessions connected to database `name`, other than the caller's (every session with
 * `clientsOnly: false`, to describe what raced a swap). Only client
 * backends count: autovacuum workers and other background processes never block a restore or a
 * template copy (PostgreSQL stops an autovacuum worker itself for both), and right after an
 * upgrade that rewrote many rows is exactly when one is busy.
 */
export async function clientSessionsOf(
  admin: pg.ClientBase,
  name: string,
  options: { clientsOnly?: boolean } = {},
): Promise<ClientSession[]> {
  // leapfrog's own sessions that were just closed are not other clients: let them finish first.
  await ourSessionsEnded();
  const { rows } = await admin.query<ClientSession>(
    `SELECT pid, coalesce(backend_type, '?') AS backend_type, coalesce(application_name, '') AS application_name
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::boolean IS FALSE OR backend_type = 'client backend')
      ORDER BY pid`,
    [name, options.clientsOnly ?? true],
  );
  return rows;
}

/** "pid 123, client backend, application "psql"": what the operator needs to find it. */
export function describeSession(session: ClientSession): string {
  const app = session.application_name === '' ? 'no application_name' : `application "${session.application_name}"`;
  return `pid ${session.pid}, ${session.backend_type}, ${app}`;
}
