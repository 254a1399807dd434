// The built CLI, run as a user runs it, on the shipped demo catalog (release-images/).
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const leapfrog = (args: string[], cwd = ROOT) =>
  execa('node', [CLI, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-plan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('leapfrog plan (shipped catalog)', () => {
  it('2023.1 -> 2025.1 prints [2024.1, 2025.1] with reasons and the next command', async () => {
    const result = await leapfrog(['plan', '--from', '2023.1', '--to', '2025.1']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('2023.1 -> 2024.1 -> 2025.1');
    expect(result.stdout).toMatch(
      /1\s+2024\.1\s+2024\.1\.0\s+milestone; accepts 2023\.1 \(upgradeFrom >=2023\.1\.0 <2024\.1\.0\)/,
    );
    expect(result.stdout).toMatch(
      /2\s+2025\.1\s+2025\.1\.0\s+accepts 2024\.1 \(upgradeFrom >=2024\.1\.0 <2025\.1\.0\); target/,
    );
    expect(result.stdout).toContain('next: leapfrog plan --from 2023.1 --to 2025.1 --out plans/2023.1-to-2025.1.json');
  });

  it('--output json prints the plan object', async () => {
    const result = await leapfrog(['plan', '--from', '2023.2', '--to', '2024.2', '--output', 'json']);
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      planVersion: number;
      steps: { release: string; reasons: { kind: string }[] }[];
      catalogDigest: string;
    };
    expect(plan.planVersion).toBe(1);
    expect(plan.steps.map((s) => s.release)).toEqual(['2024.1', '2024.2']);
    expect(plan.steps[0]?.reasons.map((r) => r.kind)).toEqual(['milestone', 'accepts']);
    expect(plan.catalogDigest).toMatch(/^sha256:/);
  });

  it('a downgrade is refused with exit 5 and the backup hint', async () => {
    const result = await leapfrog(['plan', '--to', '2023.1', '--from', '2024.1']);
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain('refusing to downgrade from 2024.1');
    expect(result.stderr).toContain(
      'leapfrog is forward-only; restore the backup taken before you upgraded (leapfrog backups)',
    );
    expect(result.stdout).toBe('');
  });

  it('the same release is nothing to do, exit 0', async () => {
    const result = await leapfrog(['plan', '--from', '2024.1', '--to', '2024.1']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('nothing to do');
  });

  it('an unknown release exits 2 naming the nearest ids; json mode puts the error on stdout', async () => {
    const result = await leapfrog(['--output', 'json', 'plan', '--from', '2023.1', '--to', '2025.2']);
    expect(result.exitCode).toBe(2);
    const error = JSON.parse(result.stdout) as { exitCode: number; message: string; hint: string };
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('nearest known: 2025.1');
    expect(error.hint).toContain('leapfrog releases');
  });

  it('--from is required with a clear message (exit 2)', async () => {
    const result = await leapfrog(['plan', '--to', '2025.1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--from is required');
    expect(result.stderr).toContain('next: leapfrog plan --from <release> --to <release>');
  });

  it('--out writes a plan file that names the next command, and it is valid', async () => {
    const out = join(dir, 'plans', '2023.1-to-2025.1.json');
    const result = await leapfrog(['plan', '--from', '2023.1', '--to', '2025.1', '--out', out]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`next: leapfrog apply --plan ${out}`);
    const file = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(file).sort()).toEqual([
      'catalogDigest',
      'createdAt',
      'from',
      'leapfrogVersion',
      'planDigest',
      'planVersion',
      'steps',
      'to',
    ]);
    const { readPlanFile } = await import('../../src/plan-file/plan-file.js');
    expect((await readPlanFile(out)).steps.map((s) => s.release)).toEqual(['2024.1', '2025.1']);
  });

  it('with a secret in the environment, the plan file and output carry no database URL', async () => {
    const out = join(dir, 'secret.json');
    const secret = 'postgres://admin:hunter2@db.example:5432/nova';
    const result = await execa('node', [CLI, 'plan', '--from', '2023.1', '--to', '2024.2', '--out', out], {
      cwd: ROOT,
      reject: false,
      env: { DATABASE_URL: secret },
    });
    expect(result.exitCode).toBe(0);
    expect(`${result.stdout}${result.stderr}${await readFile(out, 'utf8')}`).not.toContain('hunter2');
  });

  it('a broken catalog lists every error at once, exit 2', async () => {
    const catalog = join(dir, 'broken-catalog');
    const write = async (folder: string, text: string) => {
      await mkdir(join(catalog, folder), { recursive: true });
      await writeFile(join(catalog, folder, 'release.yaml'), text);
    };
    await write(
      '2023.1',
      'release: "2023.1"\nimage: "x:1"\nmilestone: true\nphases: { schema: [{ name: db, run: [migrate] }] }\n',
    );
    await write(
      '2024.1',
      'release: "2024.1"\nimage: "x:2"\nphases:\n  schema: []\n  data: { run: [migrate, data], protocol: batch }\n',
    );
    await write('2024.2', 'release: "2024.2"\nimage: "x:3"\nupgradeFrom: ">=2030.0.0"\nphases: { schema: [] }\n');
    await write('2024.3', 'release: "2024.3"\nimage: "x:4"\nphases: { schema: [] }\nowner: me\n');
    // image is optional since issue 11: the second problem of this file is its missing phases.
    await write('2025.1', 'release: 2025.1\n');
    const result = await leapfrog(['plan', '--from', '2023.1', '--to', '2025.1', '--catalog', catalog]);
    expect(result.exitCode).toBe(2);
    const lines = [
      `${catalog}/2024.1/release.yaml: phases.data.protocol: expected one of exit0, batches, upgradecheck`,
      `${catalog}/2024.2/release.yaml: upgradeFrom: ">=2030.0.0" admits no older release`,
      `${catalog}/2024.3/release.yaml: owner: unknown key`,
      `${catalog}/2025.1/release.yaml: release: expected a quoted string`,
      `${catalog}/2025.1/release.yaml: phases: required`,
    ];
    for (const line of lines) expect(result.stderr).toContain(line);
    expect(result.stderr).toContain('has 5 problems');
    expect(result.stderr).toContain(
      `next: fix the manifests above, then check them with: leapfrog releases --catalog ${catalog}`,
    );
  });
});
