import { databaseTargetFromUrl } from '../pg/database-target.js';

/**
 * Every secret the process could know of: database URLs from flags and the environment, and
 * their passwords. The top-level handler and every printer redact them, so a message that
 * quotes a connection string (pg, pg_dump and migration tools all do) never leaks one.
 */
export function knownSecrets(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string[] {
  const urls: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === '--database-url' || arg === '--target-url' || arg === '--scratch-url') {
      const next = argv[i + 1];
      if (next !== undefined) urls.push(next);
    } else if (/^--(database|target|scratch)-url=/.test(arg)) {
      urls.push(arg.slice(arg.indexOf('=') + 1));
    }
  });
  if (env['DATABASE_URL']) urls.push(env['DATABASE_URL']);
  const secrets = new Set<string>();
  for (const url of urls) {
    secrets.add(url);
    try {
      for (const s of databaseTargetFromUrl(url).secrets) secrets.add(s);
    } catch {
      // Not a URL: the raw value is still a secret.
    }
  }
  if (env['PGPASSWORD']) secrets.add(env['PGPASSWORD']);
  return [...secrets];
}
