// Issue 9, item 9: a ledger damaged by hand (a table dropped) is bad input, exit 2, naming what
// is missing and the repair, for status, step/apply and baseline alike; `baseline --force`
// rebuilds it, keeping what survived.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { currentRelease, leapfrog, seedItems } from './apply-helpers.js';

describe('a damaged ledger', () => {
  it('leapfrog.phases dropped: status, apply, step and baseline exit 2 with the repair; baseline --force rebuilds it', async () => {
    await using db = await createTestDatabase('e2e_damaged');
    await seedItems(db, 400);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    expect((await leapfrog(['apply', '--to', '2023.2'], db.url)).exitCode).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'leapfrog-damage-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const plan = join(dir, 'plan.json');
    expect((await leapfrog(['plan', '--from', '2023.2', '--to', '2024.1', '--out', plan], null)).exitCode).toBe(0);
    await db.query('DROP TABLE leapfrog.phases');

    for (const args of [
      ['status'],
      ['apply', '--to', '2024.1'],
      ['step', '--plan', plan],
      ['baseline', '--release', '2023.2'],
    ]) {
      const run = await leapfrog(args, db.url);
      expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(
        'the leapfrog ledger in schema "leapfrog" is damaged: table "leapfrog".phases is missing',
      );
      expect(run.stderr).toContain('leapfrog baseline --release 2023.2 --force');
      expect(run.stderr).toContain('restore the database from its backup');
      expect(run.stderr).not.toContain('a bug in leapfrog');
    }

    const repaired = await leapfrog(['baseline', '--release', '2023.2', '--force'], db.url);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
    // The runs survived the rebuild; the damaged schema is kept aside for whoever wants to look.
    expect((await db.query('SELECT 1 FROM leapfrog.runs')).length).toBe(1);
    expect((await db.query("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'leapfrog_damaged_%'")).length).toBe(1);
    const status = await leapfrog(['status'], db.url);
    expect(status.exitCode, status.stderr).toBe(0);
    const next = await leapfrog(['apply', '--to', '2024.1'], db.url);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2024.1');
  });

  it('leapfrog.ledger_migrations dropped: exit 2 rather than running the ledger migrations again', async () => {
    await using db = await createTestDatabase('e2e_damaged_migrations');
    await seedItems(db, 400);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    await db.query('DROP TABLE leapfrog.ledger_migrations');
    for (const args of [['status'], ['apply', '--to', '2023.2']]) {
      const run = await leapfrog(args, db.url);
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.stderr).toContain('table "leapfrog".ledger_migrations is missing');
      expect(run.stderr).toContain('leapfrog baseline --release 2023.1 --force');
    }
    const repaired = await leapfrog(['baseline', '--release', '2023.1', '--force'], db.url);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect((await leapfrog(['apply', '--to', '2023.2'], db.url)).exitCode).toBe(0);
  });

  it("an application's schema named as the ledger is not a damaged ledger: refused, and --force moves nothing", async () => {
    await using db = await createTestDatabase('e2e_not_a_ledger');
    await seedItems(db, 10);
    // The application keeps its own `runs` table (a name the ledger has too) in its own schema.
    await db.query('CREATE SCHEMA app');
    await db.query('CREATE TABLE app.runs (id int)');
    await db.query('CREATE TABLE app.orders (id int)');
    for (const args of [
      ['baseline', '--release', '2023.1', '--ledger-schema', 'app'],
      ['baseline', '--release', '2023.1', '--ledger-schema', 'app', '--force'],
      ['status', '--ledger-schema', 'app'],
    ]) {
      const run = await leapfrog(args, db.url);
      expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain('schema "app" is not a leapfrog ledger: it holds "app".orders');
      expect(run.stderr).not.toContain('--force`');
    }
    expect(await db.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'app%' ORDER BY 1")).toEqual([
      { nspname: 'app' },
    ]);
    expect(await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'app'")).toEqual([{ n: 2 }]);

    // The server's schemas and every application's `public` are never a ledger's.
    for (const schema of ['public', 'information_schema', 'pg_temp']) {
      const run = await leapfrog(['baseline', '--release', '2023.1', '--ledger-schema', schema], db.url);
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `--ledger-schema "${schema}" is a schema of PostgreSQL's own or of every application`,
      );
    }
    expect(await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).toEqual([{ n: 1 }]);
  });
});
