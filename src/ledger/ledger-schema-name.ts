import { BadInputError } from '../errors/index.js';

/**
 * The ledger schema name is spliced into SQL (identifiers cannot be bound parameters), so only
 * plain lower-case identifiers are accepted.
 */
export function ledgerSchemaName(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
    throw new BadInputError(`--ledger-schema "${value}" is not a plain lower-case SQL identifier`, {
      hint: 'use letters, digits and underscores, starting with a letter, e.g. --ledger-schema leapfrog',
    });
  }
  return value;
}
