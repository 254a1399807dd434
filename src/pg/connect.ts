import type pg from 'pg';
import { BadInputError } from '../errors/index.js';
import type { DatabaseTarget } from './database-target.js';
import { redact } from '../util/redact.js';
import { logger } from '../util/logger.js';

const log = logger('pg');

/**
 * Opens one pg client. A failure names the database by its display form only: pg's own
 * messages can quote the connection string, so they are redacted before they travel further.
 *
 * Every leapfrog session switches the server's idle timeouts off for itself. A run keeps its lock
 * session and its ledger session open, idle, for as long as a phase command runs (hours for a
 * data phase); a database or role with `idle_session_timeout` (common on managed services) would
 * end them mid-run and take the lock with them. Both settings are user-settable, so any role may
 * change them for its own session. idle_session_timeout is set only where `current_setting(…,
 * missing_ok)` knows it, so a server older than PostgreSQL 14, which lacks it, is not an error
 * (the pg_settings view did the same by listing every setting: a few ms of a fresh backend's CPU,
 * twice per run). TCP keepalive covers the network between us and the server (NAT and proxies
 * that drop idle connections).
 */
const SESSION_SETTINGS = `SELECT set_config('idle_in_transaction_session_timeout', '0', false),
  CASE WHEN current_setting('idle_session_timeout', true) IS NOT NULL
    THEN set_config('idle_session_timeout', '0', false) END`;

export async function connectClient(target: DatabaseTarget, applicationName: string): Promise<pg.Client> {
  // pg stays lazy here, at the one place a connection is opened: a verb that may or may not
  // touch a database (`plan` without one) must not pay ~50 ms CPU to load it.
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({
    connectionString: target.url,
    application_name: applicationName,
    keepAlive: true,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', (error) => log.suppressed(`an idle connection to ${target.display} (${applicationName})`, error));
  const started = performance.now();
  log.debug(`connecting to ${target.display} as ${applicationName}`);
  try {
    await client.connect();
    await client.query(SESSION_SETTINGS);
  } catch (cause) {
    await client
      .end()
      .catch((error: unknown) => log.suppressed(`closing the failed connection to ${target.display}`, error));
    log.debug(
      `connecting to ${target.display} as ${applicationName} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    const message = redact(cause instanceof Error ? cause.message : String(cause), target.secrets);
    throw new BadInputError(`cannot connect to the database ${target.display}: ${message}`, {
      hint: 'check --database-url (or DATABASE_URL / PG* variables) and that the server is running',
    });
  }
  log.debug(`connected to ${target.display} as ${applicationName} (${Math.round(performance.now() - started)} ms)`);
  return client;
}

/** Sessions `endSession` has closed whose server side may still be ending. */
const ending = new Set<Promise<void>>();

/**
 * Ends a session without waiting for the server to finish it. pg's `end()` resolves only when the
 * server closes the socket, after its backend has exited: about 10 ms per session on the 2-core
 * VM, paid twice at the end of every `step` and `apply` for nothing of ours (every write is
 * committed and the lock released before this). The Terminate message is still written: a pending
 * write keeps Node alive until it is flushed. The socket itself no longer holds the process, so the
 * CLI exits as soon as its own work is done. Code that needs the database free of leapfrog's
 * sessions (a restore, a template copy) awaits `ourSessionsEnded()` first.
 */
export function endSession(client: pg.Client, what: string): void {
  const ended: Promise<void> = client
    .end()
    .catch((error: unknown) => log.suppressed(`closing ${what}`, error))
    .finally(() => ending.delete(ended));
  ending.add(ended);
  // Client#unref (pg 8.x; @types/pg does not declare it): unrefs the socket.
  (client as pg.Client & { unref(): void }).unref();
}

/**
 * Resolves once every session `endSession` closed in this process is gone on the server too, or
 * after `timeoutMs`: a server that never closes a socket (a network cut) must not hold a restore
 * forever; its own check for other clients then names what is still there.
 */
export async function ourSessionsEnded(timeoutMs = 2000): Promise<void> {
  if (ending.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([Promise.all(ending), waited]);
  clearTimeout(timer);
}

export { isConnectionLoss } from './connection-loss.js';
