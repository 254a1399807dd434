import type { TestProject } from 'vitest/node';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the embedded server's `postgres` database. */
    pgAdminUrl: string;
  }
}

/** One real PostgreSQL 15 server for the whole suite; test files create their own databases. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startEmbeddedServer();
  project.provide('pgAdminUrl', server.adminUrl);
  return () => server.stop();
}
