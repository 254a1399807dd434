import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { downMigrationLines, isDownName } from '../../src/validate/down-migration-scan.js';
import { junitXml } from '../../src/validate/junit-report.js';
import { validateCatalog, type ValidationReport } from '../../src/validate/validate-catalog.js';

const ROOT = resolve(import.meta.dirname, '../..');
const fixture = (name: string) => join(ROOT, 'test/fixtures/catalogs', name);
const validate = (dir: string) => validateCatalog({ catalogDir: dir, plansDir: join(dir, 'no-plans') });
const checks = (report: ValidationReport) => [...new Set(report.problems.map((p) => p.check))].sort();

describe('validate on the demo catalog', () => {
  it('finds no problems, a path for every supported pair, and no down migrations', async () => {
    const report = await validateCatalog({ catalogDir: join(ROOT, 'release-images'), plansDir: join(ROOT, 'plans') });
    expect(report.problems).toEqual([]);
    const releases = report.releases.length;
    expect(report.pairs).toHaveLength((releases * (releases - 1)) / 2);
    expect(report.pairs.every((p) => p.steps !== null && p.steps[p.steps.length - 1] === p.to)).toBe(true);
    expect(report.cases.filter((c) => c.check === 'down-migrations')).toHaveLength(releases);
  });
});

describe('validate on broken catalogs', () => {
  it('reports an unreachable release for every older release, on its manifest', async () => {
    const report = await validate(fixture('validate-unreachable'));
    expect(checks(report)).toEqual(['graph']);
    // 2024.1 admits only the yanked 2023.2, so neither it nor 2024.2 after it can be reached from 2023.1.
    expect(report.problems.map((p) => p.where).sort()).toEqual(['2023.1 -> 2024.1', '2023.1 -> 2024.2']);
    expect(report.problems[0]?.file).toMatch(/validate-unreachable\/2024\.1\/release\.yaml$/);
    expect(report.problems[0]?.message).toContain('2024.1 is unreachable from 2023.1');
    expect(report.problems[0]?.message).toContain('2023.2 (yanked)');
    expect(report.pairs.find((p) => p.from === '2024.1' && p.to === '2024.2')?.steps).toEqual(['2024.2']);
  });

  it('finds down migration files, functions and commands, and not their look-alikes', async () => {
    const report = await validate(fixture('validate-down-migration'));
    expect(checks(report)).toEqual(['down-migrations']);
    const found = report.problems
      .map((p) => `${p.file.split('validate-down-migration/')[1] ?? p.file}|${p.where}`)
      .sort();
    expect(found).toEqual([
      '2023.2/migrations/0002_add_email.down.sql|',
      '2023.2/migrations/versions_0003.py|line 5',
      '2023.2/release.yaml|phases.schema[1].run',
    ]);
    // 2023.1 has shutdown_log, ROLLBACK; and a README about downloads: none is a down migration.
    expect(report.cases.find((c) => c.check === 'down-migrations' && c.name.endsWith('2023.1'))?.failures).toEqual([]);
  });

  it('reports yanked targets: the newest release and a milestone without a usable patch', async () => {
    const report = await validate(fixture('validate-yanked'));
    const yanked = report.problems.filter((p) => p.check === 'yanked').map((p) => p.message);
    expect(yanked).toHaveLength(2);
    expect(yanked[0]).toContain('2025.1, the newest release and default target, is yanked');
    expect(yanked[1]).toContain('milestone 2024.1 and every newer patch of series 2024.1 are yanked');
    // Yanked releases are not targets, so only the paths through the yanked milestone fail.
    expect(report.pairs.map((p) => `${p.from}->${p.to}`)).toEqual(['2023.1->2024.2']);
    expect(report.problems.find((p) => p.check === 'graph')?.message).toContain('milestone 2024.1 must be visited');
  });

  it('reports an upgradeFrom range that skips a milestone', async () => {
    const report = await validate(fixture('validate-milestones'));
    expect(checks(report)).toEqual(['milestones']);
    expect(report.problems[0]?.where).toBe('upgradeFrom');
    expect(report.problems[0]?.message).toContain('older than milestone 2024.1');
    expect(report.problems[0]?.message).toContain('narrow it to >=2024.1.0');
  });

  it('lints every manifest at once and still scans for down migrations', async () => {
    const report = await validate(fixture('validate-lint'));
    expect(checks(report)).toEqual(['down-migrations', 'lint']);
    const lint = report.problems.filter((p) => p.check === 'lint');
    expect(lint.map((p) => p.file.split('validate-lint/')[1])).toEqual(['2023.1/release.yaml', '2023.2/release.yaml']);
    expect(report.pairs).toEqual([]);
    expect(report.loaded).toBeUndefined();
  });
});

describe('down migration words and lines', () => {
  it('matches whole words only', () => {
    for (const name of ['0003_x.down.sql', 'rollback.sql', 'downgrade_v2.py', 'migrateDown.ts', 'DOWN.sql'])
      expect(isDownName(name), name).toBe(true);
    for (const name of ['shutdown.sql', 'download.py', 'markdown.md', 'breakdown_report.sql', 'countdown.js', 'up.sql'])
      expect(isDownName(name), name).toBe(false);
  });

  it('finds down functions and markers in sources, not transaction control', () => {
    expect(downMigrationLines('def upgrade():\n    pass\ndef downgrade():\n    pass').map((h) => h.line)).toEqual([3]);
    expect(downMigrationLines('exports.up = 1;\nexports.down = 2;').map((h) => h.line)).toEqual([2]);
    expect(downMigrationLines('-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;').map((h) => h.line)).toEqual([3]);
    expect(
      downMigrationLines('CREATE OR REPLACE FUNCTION app.rollback_orders() RETURNS void AS $$ $$ LANGUAGE sql;'),
    ).toHaveLength(1);
    expect(downMigrationLines('BEGIN;\nROLLBACK;\nSELECT shutdown FROM t;')).toEqual([]);
  });
});

describe('JUnit', () => {
  it('writes one suite per check and a failure per problem, escaped', () => {
    const xml = junitXml([
      { check: 'graph', name: '2023.1 -> 2024.1', failures: ['no path: <none> & "nothing"'], timeMs: 12 },
      { check: 'graph', name: '2023.1 -> 2023.2', failures: [], timeMs: 3 },
      { check: 'lint', name: 'a/release.yaml', failures: [], timeMs: 1 },
    ]);
    expect(xml).toContain('<testsuites name="leapfrog validate" tests="3" failures="1"');
    expect(xml).toContain('<testsuite name="graph" tests="2" failures="1"');
    expect(xml).toContain('name="2023.1 -&gt; 2024.1"');
    expect(xml).toContain('<failure message="no path: &lt;none&gt; &amp; &quot;nothing&quot;" type="graph">');
    expect(xml).toContain('<testcase classname="leapfrog.validate.lint" name="a/release.yaml" time="0.001"/>');
  });
});

describe('the release kit and demo releases (the Glance "no downgrade" test)', () => {
  it('ship no down migrations', async () => {
    const { scanForDownMigrations } = await import('../../src/validate/down-migration-scan.js');
    const found = await scanForDownMigrations([
      { dir: join(ROOT, 'src/kit'), shownDir: 'src/kit' },
      { dir: join(ROOT, 'release-images'), shownDir: 'release-images' },
    ]);
    expect(found).toEqual([]);
  });
});
