import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { pgOnNode } from '../../scripts/esbuild-plugins.mjs';
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

/**
 * A benchmark's floor script (the work any Node tool doing the job pays, with none of leapfrog's
 * own code), bundled with pg the way the CLI bundles it (no undici probe), into `work`. Returns
 * the file to run with `node`.
 */
export async function bundleFloor(work: string, source: string): Promise<string> {
  const sourceFile = join(work, 'floor-source.mjs');
  await writeFile(sourceFile, source);
  const floor = join(work, 'floor.mjs');
  await build({
    entryPoints: [sourceFile],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: floor,
    external: ['pg-native', 'pg-cloudflare'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    nodePaths: [join(resolve(import.meta.dirname, '../..'), 'node_modules')],
    logLevel: 'warning',
    plugins: [pgOnNode],
  });
  return floor;
}
