// Issue 9, item 2: a phase command gets the database URL only under the configured name, and
// nothing of leapfrog's own DATABASE_URL/PG* (set here to "production"), with both executors.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import type Dockerode from 'dockerode';
import { dockerForTests, ensureFixtureImage, fixtureImageTag, removeFixtureImage } from '../helpers/docker.js';
import { CLI } from './apply-helpers.js';

// Prints, for every variable holding a postgres URL, the database it names (not the URL: that is
// a secret and redacted), and every DATABASE_URL/PG* name the command can see.
const REPORT_SCRIPT = [
  'const e = process.env; const urls = {};',
  "for (const [k, v] of Object.entries(e)) if (/^postgres(ql)?:/.test(v ?? '')) urls[k] = decodeURIComponent(new URL(v).pathname.slice(1));",
  "const selecting = Object.keys(e).filter((k) => k === 'DATABASE_URL' || k.startsWith('PG')).sort();",
  "console.log('ENV-REPORT ' + JSON.stringify({ urls, selecting }));",
].join('\n');

interface EnvReport {
  urls: Record<string, string>;
  selecting: string[];
}

async function writeCatalog(dir: string, image: string): Promise<void> {
  await mkdir(join(dir, '1.0'), { recursive: true });
  await mkdir(join(dir, '1.1'), { recursive: true });
  await writeFile(join(dir, '1.0', 'release.yaml'), `release: "1.0"\nimage: "${image}"\nphases: {}\n`);
  // The manifest names its own variable; `--database-url-env` must beat it.
  await writeFile(
    join(dir, '1.1', 'release.yaml'),
    `release: "1.1"\nimage: "${image}"\ndatabaseUrlEnv: RELEASE_DB_URL\nphases:\n  schema:\n    - { name: report, run: [node, -e, ${JSON.stringify(REPORT_SCRIPT)}] }\n`,
  );
}

/** leapfrog's own environment points everywhere at "production", as an operator's shell would. */
function productionEnvironment(production: TestDatabase): Record<string, string> {
  const url = new URL(production.url);
  return {
    NO_COLOR: '1',
    CI: '1',
    PATH: process.env['PATH'] ?? '',
    DATABASE_URL: production.url,
    PGHOST: url.hostname,
    PGPORT: url.port,
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: production.name,
  };
}

function reportOf(stdout: string): EnvReport {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  for (const line of lines) {
    const event = JSON.parse(line) as { type?: string; line?: string };
    if (event.type === 'phase-output' && event.line?.startsWith('ENV-REPORT ')) {
      return JSON.parse(event.line.slice('ENV-REPORT '.length)) as EnvReport;
    }
  }
  throw new Error(`no ENV-REPORT line in the output:\n${stdout}`);
}

for (const executor of ['process', 'docker'] as const) {
  describe(`phase command environment (${executor} executor)`, () => {
    let work: string;
    let catalog: string;
    let production: TestDatabase;
    let other: TestDatabase;
    let third: TestDatabase;
    let skip = false;
    let docker: Dockerode | null = null;
    const image = fixtureImageTag();
    const run = (args: string[], env: Record<string, string>) =>
      execa('node', [CLI, ...args, '--catalog', catalog], { cwd: work, reject: false, env, extendEnv: false });

    beforeAll(async () => {
      if (executor === 'docker') {
        docker = await dockerForTests('phase-environment (docker)');
        if (docker === null) {
          skip = true;
          return;
        }
        await ensureFixtureImage(docker, image);
      }
      work = await mkdtemp(join(tmpdir(), 'lf-phase-env-'));
      catalog = join(work, 'catalog');
      await writeCatalog(catalog, image);
      production = await createTestDatabase('prod_env');
      other = await createTestDatabase('other_env');
      third = await createTestDatabase('third_env');
      for (const db of [production, other, third]) {
        const baseline = await run(['baseline', '--release', '1.0', '--database-url', db.url], {
          PATH: process.env['PATH'] ?? '',
          CI: '1',
        });
        expect(baseline.exitCode, baseline.stderr).toBe(0);
      }
      const plan = await run(['plan', '--from', '1.0', '--to', '1.1', '--out', join(work, 'plan.json')], {
        PATH: process.env['PATH'] ?? '',
        CI: '1',
      });
      expect(plan.exitCode, plan.stderr).toBe(0);
    }, 300_000);

    afterAll(async () => {
      if (skip) return;
      await production?.drop();
      await other?.drop();
      await third?.drop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
      if (docker !== null) await removeFixtureImage(docker, image);
    });

    it('a rehearsal gives the command the scratch copy under --database-url-env, and no DATABASE_URL or PG*', async ({
      skip: skipTest,
    }) => {
      if (skip) skipTest('no Docker Engine');
      const result = await run(
        [
          'rehearse',
          '--plan',
          join(work, 'plan.json'),
          '--clone',
          '--database-url-env',
          'APP_URL',
          '--executor',
          executor,
          '--report-dir',
          join(work, 'reports'),
          '--output',
          'json',
        ],
        productionEnvironment(production),
      );
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
      const report = reportOf(result.stdout);
      expect(report.selecting).toEqual([]);
      expect(Object.keys(report.urls)).toEqual(['APP_URL']);
      expect(report.urls['APP_URL']).toMatch(new RegExp(`^${production.name}_rehearsal_`));
    }, 300_000);

    it("an apply gives the command the target under the manifest's databaseUrlEnv, or the flag's name", async ({
      skip: skipTest,
    }) => {
      if (skip) skipTest('no Docker Engine');
      // leapfrog's environment says "production"; the runs target other databases.
      const env = productionEnvironment(production);
      const byManifest = await run(
        [
          'apply',
          '--to',
          '1.1',
          '--database-url',
          other.url,
          '--no-backup',
          '--executor',
          executor,
          '--output',
          'json',
        ],
        env,
      );
      expect(byManifest.exitCode, `${byManifest.stdout}\n${byManifest.stderr}`).toBe(0);
      expect(reportOf(byManifest.stdout)).toEqual({ urls: { RELEASE_DB_URL: other.name }, selecting: [] });

      const byFlag = await run(
        [
          'apply',
          '--to',
          '1.1',
          '--database-url',
          third.url,
          '--database-url-env',
          'APP_URL',
          '--no-backup',
          '--executor',
          executor,
          '--output',
          'json',
        ],
        env,
      );
      expect(byFlag.exitCode, `${byFlag.stdout}\n${byFlag.stderr}`).toBe(0);
      expect(reportOf(byFlag.stdout)).toEqual({ urls: { APP_URL: third.name }, selecting: [] });
    }, 300_000);
  });
}
