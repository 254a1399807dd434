// `leapfrog releases` on the shipped demo catalog, run as the built CLI.
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');

describe('leapfrog releases', () => {
  it('lists release, version, milestone, accepted-from range, yanked and image', async () => {
    const result = await execa('node', [CLI, 'releases'], { cwd: ROOT, reject: false });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^5 releases in release-images/);
    expect(result.stdout).toMatch(/RELEASE\s+VERSION\s+MILESTONE\s+ACCEPTS FROM\s+YANKED\s+IMAGE/);
    expect(result.stdout).toMatch(
      /2023\.2\s+2023\.2\.0\s+-\s+2023\.1\.0 \(previous\)\s+-\s+leapfrog-demo\/migrate:2023\.2/,
    );
    expect(result.stdout).toMatch(
      /2024\.1\s+2024\.1\.0\s+yes\s+>=2023\.1\.0 <2024\.1\.0\s+-\s+leapfrog-demo\/migrate:2024\.1/,
    );
  });

  it('--output json lists the same catalog for tools', async () => {
    const result = await execa('node', [CLI, '--output', 'json', 'releases'], { cwd: ROOT, reject: false });
    expect(result.exitCode).toBe(0);
    const body = JSON.parse(result.stdout) as {
      catalogDigest: string;
      releases: { release: string; milestone: boolean; upgradeFrom: string }[];
    };
    expect(body.releases.map((r) => r.release)).toEqual(['2023.1', '2023.2', '2024.1', '2024.2', '2025.1']);
    expect(body.releases.filter((r) => r.milestone).map((r) => r.release)).toEqual(['2023.1', '2024.1', '2025.1']);
    expect(body.releases[4]?.upgradeFrom).toBe('>=2024.1.0 <2025.1.0');
    expect(body.catalogDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('a missing catalog is exit 2 with the way out', async () => {
    const result = await execa('node', [CLI, 'releases', '--catalog', 'no-such-dir'], { cwd: ROOT, reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('release catalog no-such-dir does not exist');
    expect(result.stderr).toContain('next: ');
  });
});
