import { BadInputError } from '../errors/index.js';

/**
 * Why `value` cannot name a ledger schema; null when it can. The name is spliced into SQL
 * (identifiers cannot be bound parameters), so only plain lower-case identifiers are accepted; and
 * never a schema that belongs to PostgreSQL or to every application: `pg_*` and
 * `information_schema` are the server's, and `public` holds the application's own tables, which a
 * ledger of the same name would take for a damaged ledger (and `baseline --force` move aside).
 */
export function ledgerSchemaProblem(value: string): string | null {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) return 'not a plain lower-case SQL identifier';
  if (value === 'public' || value === 'information_schema' || value.startsWith('pg_')) {
    return "a schema of PostgreSQL's own or of every application (public, information_schema, pg_*), not one for leapfrog's ledger";
  }
  return null;
}

export function ledgerSchemaName(value: string): string {
  const problem = ledgerSchemaProblem(value);
  if (problem !== null) {
    throw new BadInputError(`--ledger-schema "${value}" is ${problem}`, {
      hint: 'use a schema of its own: letters, digits and underscores, starting with a letter, e.g. --ledger-schema leapfrog',
    });
  }
  return value;
}
