// `leapfrog validate` as a release engineer's CI runs it: the built CLI, exit codes, JSON and
// JUnit; --rehearse runs every supported path for real on embedded PostgreSQL.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const fixture = (name: string) => join(ROOT, 'test/fixtures/catalogs', name);
let work: string;

function validate(args: string[]) {
  return execa('node', [CLI, 'validate', ...args], { cwd: ROOT, reject: false, env: { NO_COLOR: '1', CI: '1' } });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-validate-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('leapfrog validate', () => {
  it('passes on the demo catalog and prints the matrix as JSON', async () => {
    const result = await validate(['--matrix', '--output', 'json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      problems: unknown[];
      matrix: { from: string; to: string; steps: string[] | null }[];
    };
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.matrix).toHaveLength(10);
    expect(report.matrix.find((p) => p.from === '2023.1' && p.to === '2025.1')?.steps).toEqual(['2024.1', '2025.1']);
  });

  it('--rows 0 is a usage error (exit 2) before anything is rehearsed', async () => {
    const result = await validate(['--rehearse', '--rows', '0']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('"0" is not a row count (1 or more)');
  });

  it('fails a catalog with down migrations (exit 2), listing each, with a JUnit file for CI', async () => {
    const junit = join(work, 'down.xml');
    const result = await validate(['--catalog', fixture('validate-down-migration'), '--junit', junit]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('no down migrations             FAILED (1 of 2)');
    expect(result.stdout).toContain('0002_add_email.down.sql');
    expect(result.stdout).toContain('versions_0003.py: line 5');
    expect(result.stdout).toContain('next: fix the files above');
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="down-migrations" tests="2" failures="1"/);
    expect(xml.match(/<failure /g)).toHaveLength(3);
  });

  it('fails a catalog with yanked targets and an unreachable path (exit 2)', async () => {
    const result = await validate(['--catalog', fixture('validate-yanked')]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('no yanked targets              FAILED');
    expect(result.stdout).toContain('2025.1, the newest release and default target, is yanked');
  });

  it('--rehearse runs every supported path to the newest release on embedded PostgreSQL', async () => {
    const junit = join(work, 'rehearse.xml');
    const result = await validate(['--rehearse', '--rows', '500', '--junit', junit, '--output', 'json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').pop() as string) as {
      rehearsals: { from: string; to: string; ok: boolean; path: string[] }[];
    };
    expect(report.rehearsals.map((r) => `${r.from}->${r.to}:${r.ok}`)).toEqual([
      '2023.1->2025.1:true',
      '2023.2->2025.1:true',
      '2024.1->2025.1:true',
      '2024.2->2025.1:true',
    ]);
    expect(report.rehearsals[0]?.path).toEqual(['2024.1', '2025.1']);
    expect(await readFile(junit, 'utf8')).toMatch(/<testsuite name="rehearse" tests="4" failures="0"/);
  });
});
