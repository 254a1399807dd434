// `baseline` asks the claimed release's own check before recording it: the built CLI, real
// PostgreSQL, the demo releases (release-images/) and their kit through the process executor.
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const CATALOG = join(ROOT, 'release-images');
const KIT = join(ROOT, 'dist/kit/leapfrog-kit.mjs');
const ENV = { NO_COLOR: '1', CI: '1', LEAPFROG_KIT_BUNDLE: KIT, DATABASE_URL: '' };

function leapfrog(args: string[], url: string) {
  return execa('node', [CLI, ...args, '--catalog', CATALOG, '--database-url', url], {
    cwd: ROOT,
    reject: false,
    env: ENV,
  });
}

/** The application's schema of 2023.1, installed by that release's own kit (no leapfrog involved). */
async function at2023(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await execa(join(CATALOG, '2023.1/bin/leapfrog-kit'), ['schema'], { env: { ...ENV, DATABASE_URL: db.url } });
  return db;
}

async function ledgerSchemaExists(db: TestDatabase): Promise<boolean> {
  return (await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).length > 0;
}

async function recorded(db: TestDatabase): Promise<string | undefined> {
  return (await db.query<{ release: string }>('SELECT release FROM leapfrog.state'))[0]?.release;
}

describe('baseline verifies the claimed release with its own check', () => {
  it('refuses (exit 3) a release the database is not at, naming the failing checks, and writes nothing', async () => {
    await using db = await at2023('e2e_baseline_wrong');
    const wrong = await leapfrog(['baseline', '--release', '2024.1'], db.url);
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toContain('refusing to baseline');
    expect(wrong.stderr).toContain("release 2024.1's own check is red");
    expect(wrong.stderr).toContain('FAILURE: Schema migrations of 2024.1');
    expect(wrong.stderr).toContain('the database is not at 2024.1 by that release');
    expect(wrong.stderr).toContain(`\`leapfrog baseline --release 2023.2 --catalog ${CATALOG} --database-url <url>\``);
    expect(wrong.stderr).toContain('--no-verify');
    expect(await ledgerSchemaExists(db)).toBe(false);

    const json = await leapfrog(['baseline', '--release', '2024.1', '--output', 'json'], db.url);
    expect(json.exitCode).toBe(3);
    const error = JSON.parse(json.stdout.trim().split('\n').at(-1) ?? '{}') as {
      type: string;
      error: string;
      details: { release: string };
    };
    expect(error).toMatchObject({ type: 'error', error: 'CheckRedError', details: { release: '2024.1' } });

    const right = await leapfrog(['baseline', '--release', '2023.1'], db.url);
    expect(right.exitCode, right.stderr).toBe(0);
    expect(right.stdout).toContain("verified: release 2023.1's own check is green");
    expect(right.stdout).toContain('baselined');
    expect(await recorded(db)).toBe('2023.1');
  });

  it('refuses an empty database (exit 3); --no-verify records it and says it was not verified', async () => {
    await using db = await createTestDatabase('e2e_baseline_empty');
    const refused = await leapfrog(['baseline', '--release', '2023.1'], db.url);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain('FAILURE: Schema migrations of 2023.1');
    expect(await ledgerSchemaExists(db)).toBe(false);

    const unverified = await leapfrog(['baseline', '--release', '2023.1', '--no-verify'], db.url);
    expect(unverified.exitCode, unverified.stderr).toBe(0);
    expect(unverified.stdout).toContain('not verified (--no-verify)');
    expect(await recorded(db)).toBe('2023.1');
  });

  it("--force replaces a wrong recorded release, still verified by the new release's check", async () => {
    await using db = await at2023('e2e_baseline_force');
    // The mistake being corrected: a release recorded without verification.
    expect((await leapfrog(['baseline', '--release', '2024.1', '--no-verify'], db.url)).exitCode).toBe(0);
    const plain = await leapfrog(['baseline', '--release', '2023.1'], db.url);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('already records release 2024.1');
    expect(plain.stderr).toContain('leapfrog baseline --release 2023.1 --force');

    const unchecked = await leapfrog(['baseline', '--release', '2023.2', '--force'], db.url);
    expect(unchecked.exitCode).toBe(3);
    expect(await recorded(db)).toBe('2024.1');

    const fixed = await leapfrog(['baseline', '--release', '2023.1', '--force'], db.url);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain("verified: release 2023.1's own check is green");
    expect(fixed.stdout).toContain('replaced the recorded release of');
    expect(fixed.stdout).toContain('2024.1 -> 2023.1');
    expect(await recorded(db)).toBe('2023.1');
  });
});
