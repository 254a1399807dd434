import type { Release } from '../catalog/release.js';

/**
 * The environment a phase command gets, built in one place for every executor and every caller
 * (runner, baseline's check, rehearsals). The rule: the database URL reaches a command only under
 * one name, and nothing from leapfrog's own environment can point it at another database. An
 * operator with DATABASE_URL exported for production who rehearses with
 * `--database-url-env APP_URL` must not hand the command production's URL as well: a command
 * that prefers DATABASE_URL (or whose driver reads PGHOST, PGDATABASE, PGSERVICE, …) would
 * write production during a rehearsal that promises never to.
 */

/** The default name; also the one that is never inherited from leapfrog's environment. */
export const DEFAULT_DATABASE_URL_ENV = 'DATABASE_URL';

/** The database a phase command works on. `url` is a secret. */
export interface PhaseDatabase {
  url: string;
  /** `--database-url-env` when the operator gave it; it beats the manifest's `databaseUrlEnv`. */
  urlEnv?: string;
}

/** The name the URL reaches this release's commands under: flag, then manifest, then DATABASE_URL. */
export function databaseUrlEnvOf(release: Release, database: Pick<PhaseDatabase, 'urlEnv'>): string {
  return database.urlEnv ?? release.databaseUrlEnv ?? DEFAULT_DATABASE_URL_ENV;
}

/**
 * What a phase command gets beyond what its executor supplies: the manifest's `env`, then the
 * command's own `env` (Kolla's KOLLA_UPGRADE…, per command), then `extra` (callers' fixed
 * settings), then the URL under its name, last so nothing overrides it. Neither env may name a
 * database (the URL variable, DATABASE_URL, PG*): those are dropped (the manifest schema refuses
 * them already), because a PGHOST or URL of the manifest's would point commands at another
 * database than the run's; a rehearsal's at the production database it copied.
 */
export function phaseEnvironment(
  release: Release,
  database: PhaseDatabase,
  extra: Readonly<Record<string, string>> = {},
  command: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const urlEnv = databaseUrlEnvOf(release, database);
  const own: Record<string, string> = {};
  for (const env of [release.env, command]) {
    for (const [name, value] of Object.entries(env)) {
      if (name !== urlEnv && !selectsDatabase(name)) own[name] = value;
    }
  }
  return { ...own, ...extra, [urlEnv]: database.url };
}

/**
 * True for variables that select a database: DATABASE_URL and libpq's PG* family (PGHOST,
 * PGDATABASE, PGPASSWORD, PGSERVICE, PGSSLMODE, …). Matched case-sensitively, as the OS does.
 */
export function selectsDatabase(name: string): boolean {
  return name === DEFAULT_DATABASE_URL_ENV || name.startsWith('PG');
}

/**
 * The part of leapfrog's own environment a local command may inherit (PATH, HOME, LANG, proxy
 * settings, …): everything except what selects a database. The process executor starts from
 * this, never from `process.env` itself; the docker executor inherits nothing from the host.
 */
export function inheritableEnvironment(parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !selectsDatabase(name)) env[name] = value;
  }
  return env;
}
