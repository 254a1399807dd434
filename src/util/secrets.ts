import { redact } from './redact.js';

/**
 * Every secret this process has learned: the code that resolves a database target (or reads a
 * URL from a file or an environment variable) registers the URL and its password here, once.
 * The top-level error handler and the debug logger redact with it, so a message that quotes a
 * connection string (pg, pg_dump and migration tools all do) never leaks one — without anyone
 * re-parsing argv to guess which flags held URLs.
 */
const registered = new Set<string>();

export function registerSecrets(secrets: Iterable<string>): void {
  for (const secret of secrets) if (secret.length >= 3) registered.add(secret);
}

export function knownSecrets(): readonly string[] {
  return [...registered];
}

/** `redact` with every registered secret. */
export function redactKnown(text: string): string {
  return registered.size === 0 ? text : redact(text, [...registered]);
}
