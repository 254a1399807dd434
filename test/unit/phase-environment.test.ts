// The phase environment rule (issue 9, item 2) as pure functions; the e2e test
// test/e2e/phase-environment.test.ts proves it through the CLI with both executors.
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/catalog/manifest-schema.js';
import { inheritableEnvironment, phaseEnvironment } from '../../src/executors/phase-environment.js';
import { environmentFor } from '../../src/executors/process-executor.js';
import { CatalogBuilder } from '../helpers/catalog-builder.js';

const catalog = new CatalogBuilder()
  .release('1.0', { env: { LOG_LEVEL: 'info' } })
  .release('1.1', { databaseUrlEnv: 'PGBOSS_DATABASE_URL', env: { LOG_LEVEL: 'debug' } })
  .build();
const [plain, named] = catalog.releases;

describe('phaseEnvironment', () => {
  it("puts the URL under DATABASE_URL, the manifest's databaseUrlEnv, or the flag's name (flag first)", () => {
    expect(phaseEnvironment(plain!, { url: 'postgres://h/db' })).toEqual({
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://h/db',
    });
    expect(phaseEnvironment(named!, { url: 'postgres://h/db' })).toEqual({
      LOG_LEVEL: 'debug',
      PGBOSS_DATABASE_URL: 'postgres://h/db',
    });
    expect(phaseEnvironment(named!, { url: 'postgres://h/db', urlEnv: 'APP_URL' })).toEqual({
      LOG_LEVEL: 'debug',
      APP_URL: 'postgres://h/db',
    });
  });
});

describe("phaseEnvironment drops a database-selecting name from the release's env too", () => {
  it('never passes DATABASE_URL, PG* or the URL variable from the manifest, whatever its level', () => {
    // The schema refuses these; a Release built another way (tests, a future caller) still cannot
    // point a command elsewhere, e.g. a rehearsal at the production database it copied.
    const release = {
      ...plain!,
      env: { DATABASE_URL: 'postgres://prod/db', PGHOST: 'prod', APP_URL: 'x', LOG: '1' },
    };
    expect(
      phaseEnvironment(release, { url: 'postgres://scratch/db', urlEnv: 'APP_URL' }, {}, { PGPORT: '1', MODE: 'a' }),
    ).toEqual({ LOG: '1', MODE: 'a', APP_URL: 'postgres://scratch/db' });
  });
});

describe('the process executor environment', () => {
  const parent = {
    PATH: '/usr/bin',
    HOME: '/home/op',
    DATABASE_URL: 'postgres://prod/db',
    PGHOST: 'prod',
    PGDATABASE: 'prod',
    PGSERVICE: 'prod',
    PG_BIN: '/pg',
  };

  it("inherits leapfrog's environment except DATABASE_URL and every PG* variable", () => {
    expect(inheritableEnvironment(parent)).toEqual({ PATH: '/usr/bin', HOME: '/home/op' });
  });

  it('gives the command the URL only under the configured name', () => {
    const env = environmentFor(
      plain!,
      phaseEnvironment(plain!, { url: 'postgres://scratch/db', urlEnv: 'APP_URL' }),
      parent,
    );
    expect(env).toMatchObject({ HOME: '/home/op', APP_URL: 'postgres://scratch/db', LOG_LEVEL: 'info' });
    expect(Object.keys(env).filter((k) => k === 'DATABASE_URL' || k.startsWith('PG'))).toEqual([]);
  });
});

describe('manifest databaseUrlEnv', () => {
  it('must be a variable name', () => {
    const parsed = parseManifest({ release: '1.0', image: 'x', phases: {}, databaseUrlEnv: 'not a name' });
    expect(parsed.problems).toEqual([expect.objectContaining({ path: 'databaseUrlEnv' })]);
  });
});
