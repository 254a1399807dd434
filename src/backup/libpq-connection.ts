import type { DatabaseTarget } from '../pg/database-target.js';

/**
 * How pg_dump and pg_restore reach the database without the password on their command line
 * (where `ps` shows it to every user of the host): the URL minus its password as `--dbname`,
 * the password in the child's environment.
 */
export interface LibpqConnection {
  readonly dbnameArg: string;
  readonly env: Readonly<Record<string, string>>;
}

export function libpqConnection(target: DatabaseTarget): LibpqConnection {
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env: Record<string, string> = {};
  if (password !== '') env['PGPASSWORD'] = password;
  return { dbnameArg: url.toString(), env };
}
