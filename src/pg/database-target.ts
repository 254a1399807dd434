import { BadInputError } from '../errors/index.js';
import { registerSecrets } from '../util/secrets.js';

/**
 * Where the database is, resolved once from `--database-url`, then `DATABASE_URL`, then the PG*
 * variables libpq and node-postgres read. `url` is a secret: it goes to pg and to phase commands,
 * never to output. `display` is what people see (no user, no password).
 */
export interface DatabaseTarget {
  readonly url: string;
  readonly display: string;
  /** Strings that must never appear in output: the URL itself and its password. */
  readonly secrets: readonly string[];
}

export function resolveDatabaseTarget(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DatabaseTarget {
  const raw = flag ?? env['DATABASE_URL'] ?? urlFromPgVariables(env);
  if (raw === undefined || raw === '') {
    throw new BadInputError('no database given', {
      hint: 'pass --database-url postgres://USER@HOST:PORT/DB, or set DATABASE_URL (or PGHOST, PGDATABASE, …)',
    });
  }
  return databaseTargetFromUrl(raw);
}

/** True when resolveDatabaseTarget would find a database (flag, DATABASE_URL or PG*): `plan` without --from reads it. */
export function databaseTargetGiven(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = flag ?? env['DATABASE_URL'] ?? urlFromPgVariables(env);
  return raw !== undefined && raw !== '';
}

/**
 * Every target leapfrog resolves passes through here, so this is where its URL and password are
 * registered as secrets (src/util/secrets.ts): the raw value first, because even a value that is
 * not a URL may hold a password.
 */
export function databaseTargetFromUrl(raw: string): DatabaseTarget {
  registerSecrets([raw]);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new BadInputError('the database URL is not a valid URL', {
      hint: 'use the form postgres://USER:PASSWORD@HOST:PORT/DATABASE (the value is not shown, because it may hold a password)',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new BadInputError(`the database URL has scheme "${parsed.protocol}", not postgres:`, {
      hint: 'use the form postgres://USER:PASSWORD@HOST:PORT/DATABASE',
    });
  }
  const password = decodeComponent(parsed.password);
  if (password === undefined) {
    throw new BadInputError('the database URL has a password with a stray "%" (not a valid percent-encoding)', {
      hint: 'percent-encode special characters in the password ("%" is %25, "@" is %40, "/" is %2F); the value is not shown',
    });
  }
  const secrets = [raw];
  if (password !== '') secrets.push(password, parsed.password);
  registerSecrets(secrets);
  return { url: raw, display: displayOf(parsed), secrets: unique(secrets) };
}

/**
 * Registers `DATABASE_URL` (and its password) and `PGPASSWORD` at CLI start: a failure before any
 * target is resolved (a usage error, a broken catalog) may still quote them, and they are
 * secrets whether or not this run uses them.
 */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv = process.env): void {
  const url = env['DATABASE_URL'];
  if (url !== undefined && url !== '') {
    registerSecrets([url]);
    if (URL.canParse(url)) {
      const encoded = new URL(url).password;
      registerSecrets([encoded, decodeComponent(encoded) ?? encoded]);
    }
  }
  const password = env['PGPASSWORD'];
  if (password !== undefined) registerSecrets([password]);
}

/** The same server and credentials, another database: rehearsal copies and scratch databases. */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const parsed = new URL(target.url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return databaseTargetFromUrl(parsed.toString());
}

export function databaseName(target: DatabaseTarget): string {
  const name = decodeURIComponent(new URL(target.url).pathname.replace(/^\//, ''));
  return name === '' ? 'postgres' : name;
}

function displayOf(url: URL): string {
  const db = url.pathname.replace(/^\//, '') || '(default)';
  const port = url.port === '' ? '5432' : url.port;
  return `${url.hostname || 'localhost'}:${port}/${decodeComponent(db) ?? db}`;
}

function decodeComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function urlFromPgVariables(env: NodeJS.ProcessEnv): string | undefined {
  if (env['PGHOST'] === undefined && env['PGDATABASE'] === undefined && env['PGUSER'] === undefined) {
    return undefined;
  }
  const url = new URL('postgres://localhost');
  const host = env['PGHOST'] ?? 'localhost';
  // A socket directory cannot be a URL host; libpq's `host` query parameter carries it.
  if (host.startsWith('/')) url.searchParams.set('host', host);
  else url.hostname = host;
  if (env['PGPORT']) url.port = env['PGPORT'];
  if (env['PGUSER']) url.username = encodeURIComponent(env['PGUSER']);
  if (env['PGPASSWORD']) url.password = encodeURIComponent(env['PGPASSWORD']);
  url.pathname = `/${encodeURIComponent(env['PGDATABASE'] ?? env['PGUSER'] ?? 'postgres')}`;
  return url.toString();
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
