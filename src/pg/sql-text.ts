import type pg from 'pg';

// SQL text leapfrog builds itself: identifiers it quotes or makes up, and the manifest's SQL, which
// it sends as exactly one statement.

/** An SQL identifier in double quotes (a name may hold anything, quotes included). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes: a longer name is cut, silently. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * `base` followed by `suffix`, with `base` cut so the whole fits in 63 bytes of UTF-8 (at a
 * character's boundary). Cutting characters instead of bytes let the server cut the suffix off a
 * non-ASCII name, so that the "new" name was the source's own.
 */
export function identifierWithSuffix(base: string, suffix: string): string {
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix);
  let kept = '';
  let bytes = 0;
  for (const char of base) {
    const size = Buffer.byteLength(char);
    if (bytes + size > room) break;
    kept += char;
    bytes += size;
  }
  return `${kept}${suffix}`;
}

/**
 * A query that goes through the extended protocol, which takes exactly one statement. pg sends a
 * query without parameters as a simple query, which may hold several: manifest SQL such as
 * `select …; commit; insert …` would end the READ ONLY transaction it runs in and write after it.
 * (pg 8.x takes `queryMode`; @types/pg does not declare it.)
 */
export function oneStatement<T extends pg.QueryConfig | pg.QueryArrayConfig>(query: T): T {
  return { ...query, queryMode: 'extended' };
}
