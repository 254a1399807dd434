// Issue 9, item 7: a `next:` command run exactly as printed acts on the same catalog, ledger
// schema and URL variable as the command that printed it; and `--output=json` is `--output json`.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CLI } from './apply-helpers.js';

// Fails until the file `fixed` exists beside the catalog; needs its URL under APP_URL.
const MIGRATE = [
  "const { existsSync } = require('node:fs');",
  "if (!process.env.APP_URL) { console.error('APP_URL is not set'); process.exit(3); }",
  "if (!existsSync('../fixed')) { console.error('not fixed yet'); process.exit(1); }",
  "console.log('migrated');",
].join('\n');

describe('next: hints carry the flags the operator gave', () => {
  let work: string;
  let catalog: string;
  let bin: string;
  let db: TestDatabase;
  const env = () => ({ NO_COLOR: '1', CI: '1', PATH: `${bin}:${process.env['PATH'] ?? ''}`, DATABASE_URL: db.url });
  const flags = () => ['--catalog', catalog, '--ledger-schema', 'shop_ledger', '--database-url-env', 'APP_URL'];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-next-'));
    catalog = join(work, 'my catalog');
    for (const id of ['1.0', '1.1']) await mkdir(join(catalog, id), { recursive: true });
    await writeFile(join(catalog, '1.0', 'release.yaml'), 'release: "1.0"\nimage: "x/migrate:1.0"\nphases: {}\n');
    await writeFile(
      join(catalog, '1.1', 'release.yaml'),
      `release: "1.1"\nimage: "x/migrate:1.1"\nphases:\n  schema:\n    - { name: db, run: [node, -e, ${JSON.stringify(MIGRATE)}] }\n`,
    );
    // `leapfrog` on PATH, as `npm link` or a global install puts it there.
    bin = join(work, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'leapfrog'), `#!/bin/sh\nexec node ${JSON.stringify(CLI)} "$@"\n`);
    await chmod(join(bin, 'leapfrog'), 0o755);
    db = await createTestDatabase('next_hint');
  });

  afterAll(async () => {
    await db?.drop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('a failed apply prints a resume command that, run as printed, resumes on the same catalog and ledger schema', async () => {
    const baseline = await execa('node', [CLI, 'baseline', '--release', '1.0', ...flags()], {
      cwd: work,
      env: env(),
      extendEnv: false,
      reject: false,
    });
    expect(baseline.exitCode, baseline.stderr).toBe(0);

    const failed = await execa('node', [CLI, 'apply', '--to', '1.1', ...flags(), '--backup-dir', join(work, 'dumps')], {
      cwd: work,
      env: env(),
      extendEnv: false,
      reject: false,
    });
    expect(failed.exitCode, failed.stderr).toBe(1);
    const printed = /re-run `(leapfrog [^`]+)`/.exec(failed.stderr)?.[1];
    expect(printed, failed.stderr).toBeDefined();
    expect(printed).toContain("--catalog '");
    expect(printed).toContain('--ledger-schema shop_ledger');
    expect(printed).toContain('--database-url-env APP_URL');
    expect(printed).toContain(`--backup-dir ${join(work, 'dumps')}`);

    await writeFile(join(catalog, 'fixed'), '');
    const resumed = await execa('sh', ['-c', printed as string], {
      cwd: work,
      env: env(),
      extendEnv: false,
      reject: false,
    });
    expect(resumed.exitCode, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    const rows = await db.query<{ release: string }>('SELECT release FROM shop_ledger.state');
    expect(rows).toEqual([{ release: '1.1' }]);
    // Nothing went to the default schema or the default catalog.
    expect(await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).toEqual([]);
  });

  it('--output=json prints errors as a JSON line, as --output json does', async () => {
    for (const output of [['--output', 'json'], ['--output=json']]) {
      const refused = await execa(
        'node',
        [CLI, ...output, 'plan', '--from', '1.0', '--to', 'nope', '--catalog', catalog],
        { cwd: work, env: env(), extendEnv: false, reject: false },
      );
      expect(refused.exitCode).toBe(2);
      expect(JSON.parse(refused.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({ type: 'error', exitCode: 2 });

      const usage = await execa('node', [CLI, 'apply', '--no-such-flag', ...output], {
        cwd: work,
        env: env(),
        extendEnv: false,
        reject: false,
      });
      expect(usage.exitCode).toBe(2);
      expect(JSON.parse(usage.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({
        type: 'error',
        error: 'UsageError',
        hint: 'run leapfrog apply --help',
      });
    }
  });
});
