import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import type { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { withClient } from '../../src/pg/with-client.js';

/** Runs one statement as the embedded server's superuser. */
export function adminOf(server: EmbeddedServer): (sql: string) => Promise<void> {
  const target = databaseTargetFromUrl(server.adminUrl);
  return async (sql) => {
    await withClient(target, (client) => client.query(sql));
  };
}

/**
 * Fresh copies of one seeded template database, so both sides of a comparison start from
 * identical data; the checkpoint keeps the copy's writes out of the next measurement.
 */
export function templateCopier(server: EmbeddedServer, template: string): () => Promise<string> {
  const admin = adminOf(server);
  let copies = 0;
  return async () => {
    const name = `${template}_copy_${(copies += 1)}`;
    await admin(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    await admin('CHECKPOINT');
    return server.urlFor(name);
  };
}
