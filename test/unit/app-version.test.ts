// The appVersion comparison's rules over a recording fake probe (the real one runs in
// test/integration/app-version.test.ts): which queries are asked, what matches, what is drift.
import { describe, expect, it } from 'vitest';
import { SqlProbeError, type SqlProbe, type SqlRows } from '../../src/checks/sql-probe.js';
import { BadInputError, DriftError } from '../../src/errors/index.js';
import { compareAppVersion, detectRelease, readAppVersions } from '../../src/upgrade/app-version.js';
import { catalogBuilder, type ReleaseFields } from '../helpers/catalog-builder.js';

const OLD = 'select version from app_meta';
const NEW = 'select max(id)::text from app.migrations';

/** Answers each query from `answers` (a string, or an Error to throw) and records what was asked. */
function fakeProbe(answers: Record<string, string | null | Error>): SqlProbe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    query(sql: string): Promise<SqlRows> {
      asked.push(sql);
      const answer = answers[sql];
      if (answer instanceof Error) return Promise.reject(answer);
      if (answer === undefined) return Promise.reject(new SqlProbeError(`relation for "${sql}" does not exist`, false));
      return Promise.resolve({ columns: ['v'], rows: answer === null ? [] : [{ v: answer }] });
    },
  };
}

function withAppVersion(sql: string, equals: string): ReleaseFields {
  // appVersion is passed through to the real manifest schema like any other field.
  const fields: ReleaseFields & { appVersion: { sql: string; equals: string } } = { appVersion: { sql, equals } };
  return fields;
}

// 1.0 and 2.0 keep their version in app_meta; 2.1 is a patch release that says what 2.0 says;
// 3.0 moved it to a migrations table; 4.0 declares none.
const catalog = catalogBuilder()
  .release('1.0', withAppVersion(OLD, '1'))
  .release('2.0', withAppVersion(OLD, '2'))
  .release('2.1', withAppVersion(OLD, '2'))
  .release('3.0', withAppVersion(NEW, '30'))
  .release('4.0')
  .build();
const release = (id: string) => {
  const found = catalog.releases.find((r) => r.id === id);
  if (found === undefined) throw new Error(id);
  return found;
};

describe('compareAppVersion', () => {
  it('agreeing costs one query; a mismatch asks every distinct query once to name the releases that match', async () => {
    const agrees = fakeProbe({ [OLD]: '1', [NEW]: '30' });
    expect(await compareAppVersion(agrees, catalog, release('1.0'))).toMatchObject({ drift: false, says: '1' });
    expect(agrees.asked).toEqual([OLD]);

    const moved = fakeProbe({ [OLD]: '1', [NEW]: '30' });
    const both = await compareAppVersion(moved, catalog, release('2.0'));
    expect(both).toMatchObject({ drift: true, says: '1', expected: '2', matches: ['1.0', '3.0'] });
    expect(moved.asked).toEqual([OLD, NEW]);
  });

  it('is null for a release without appVersion; a refused query is drift with its error; no row is drift', async () => {
    expect(await compareAppVersion(fakeProbe({}), catalog, release('4.0'))).toBeNull();
    const missing = await compareAppVersion(fakeProbe({}), catalog, release('1.0'));
    expect(missing).toMatchObject({ drift: true, says: null, matches: [] });
    expect(missing?.error).toContain('does not exist');
    expect(await compareAppVersion(fakeProbe({ [OLD]: null }), catalog, release('1.0'))).toMatchObject({
      drift: true,
      says: null,
      error: null,
    });
  });

  it("an unfinished step lets its target's value (and one no release claims) pass, not another release's", async () => {
    const probe = (v: string) => fakeProbe({ [OLD]: v });
    expect(await compareAppVersion(probe('2'), catalog, release('1.0'), ['2.0'])).toMatchObject({ drift: false });
    expect(await compareAppVersion(probe('1.5'), catalog, release('1.0'), ['2.0'])).toMatchObject({ drift: false });
    expect(await compareAppVersion(probe('2'), catalog, release('1.0'), [])).toMatchObject({ drift: true });
    // Read lazily: the ledger is asked only when the application disagrees.
    let asked = 0;
    const read = () => {
      asked += 1;
      return Promise.resolve(['2.0']);
    };
    expect(await compareAppVersion(probe('1'), catalog, release('1.0'), read)).toMatchObject({ drift: false });
    expect(asked).toBe(0);
    expect(await compareAppVersion(probe('2'), catalog, release('1.0'), read)).toMatchObject({ drift: false });
    expect(asked).toBe(1);
    const other = await compareAppVersion(fakeProbe({ [OLD]: 'x', [NEW]: '30' }), catalog, release('1.0'), ['2.0']);
    expect(other).toMatchObject({ drift: true, matches: ['3.0'] });
  });

  it('a probe failure that is not the database refusing the query is not swallowed', async () => {
    await expect(readAppVersions(fakeProbe({ [OLD]: new Error('bug') }), [OLD])).rejects.toThrow('bug');
  });
});

describe('detectRelease', () => {
  it('picks the one matching release, refuses several (exit 2) and none (exit 6)', async () => {
    expect((await detectRelease(fakeProbe({ [OLD]: '1' }), catalog, 'db')).id).toBe('1.0');
    expect((await detectRelease(fakeProbe({ [NEW]: '30' }), catalog, 'db')).id).toBe('3.0');

    const several = await detectRelease(fakeProbe({ [OLD]: '2' }), catalog, 'db').catch((e: unknown) => e);
    expect(several).toBeInstanceOf(BadInputError);
    expect((several as BadInputError).details).toMatchObject({ matches: ['2.0', '2.1'] });

    const none = await detectRelease(fakeProbe({ [OLD]: '9' }), catalog, 'db').catch((e: unknown) => e);
    expect(none).toBeInstanceOf(DriftError);
    expect((none as DriftError).message).toContain('Known: 1.0 = "1", 2.0 = "2", 2.1 = "2", 3.0 = "30"');

    const undeclared = catalogBuilder().release('1.0').build();
    const refused = await detectRelease(fakeProbe({}), undeclared, 'db').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BadInputError);
  });
});
