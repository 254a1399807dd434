import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { withClient } from '../../src/pg/with-client.js';
import { businessFingerprint, type BusinessFingerprint } from '../../src/demo/business-checksum.js';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  BASE_IMAGE,
  dockerForTests,
  ensureDemoImages,
  leapfrogContainers,
  pruneDanglingReleaseImages,
  watchContainers,
  type SeenContainer,
} from '../helpers/docker.js';

// The built CLI against a real Docker Engine and the suite's real PostgreSQL. Skipped with a
// printed reason only where no engine answers and CI (LEAPFROG_REQUIRE_DOCKER=1) does not require one.
const docker = await dockerForTests('docker executor e2e');

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const ROWS = 2_000;

// The pre-upgrade dumps go to a folder of this file's own, removed afterwards: the default
// ./backups would leave them in the checkout.
const backupDir = await mkdtemp(join(tmpdir(), 'lf-docker-e2e-backups-'));
afterAll(async () => {
  await rm(backupDir, { recursive: true, force: true });
});

function leapfrog(
  args: string[],
  env: Record<string, string> = {},
): ResultPromise<{ reject: false; env: Record<string, string> }> {
  const backs = args[0] === 'apply' || args[0] === 'step' ? ['--backup-dir', backupDir] : [];
  return execa(process.execPath, [cli, ...args, ...backs], { reject: false, env: { ...env, DATABASE_URL: '' } });
}

function fingerprint(url: string): Promise<BusinessFingerprint> {
  return withClient(databaseTargetFromUrl(url), businessFingerprint);
}

/** A database at 2023.1 with the demo data, baselined: where an operator starts. */
async function seededDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('docker_e2e');
  await seedDemoDatabase(db.url, { rows: ROWS, catalogDir: 'release-images' });
  const baseline = await leapfrog(['baseline', '--release', '2023.1', '--database-url', db.url]);
  expect(baseline.exitCode, baseline.stderr).toBe(0);
  return db;
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

function ownedBy(pid: number | undefined): (c: SeenContainer | Dockerode.ContainerInfo) => boolean {
  return (c) => {
    const labels = 'labels' in c ? c.labels : c.Labels;
    return labels['leapfrog.owner'] === `${hostname()}:${pid ?? -1}`;
  };
}

// Skipped only where no Docker Engine answers (a developer machine without dockerd; the reason is
// printed by dockerForTests). Under .ci/run, LEAPFROG_REQUIRE_DOCKER=1 makes that a failure instead.
describe.skipIf(docker === null)('apply with --executor docker (built CLI, real Docker Engine)', () => {
  const engine = docker as Dockerode;
  const imageIds = new Map<string, string>();
  /** The phases each release's manifest defines: each must have run in a container of its own. */
  const phasesOf = new Map<string, Set<string>>();

  beforeAll(async () => {
    const catalog = await ensureDemoImages(engine);
    for (const release of catalog.releases) {
      imageIds.set(release.id, (await engine.getImage(release.image as string).inspect()).Id);
      const { preflight, schema, data, check } = release.phases;
      const phases = new Set<string>();
      if (preflight) phases.add('preflight');
      if (schema.length > 0) phases.add('schema');
      if (data) phases.add('data');
      if (check) phases.add('check');
      phasesOf.set(release.id, phases);
    }
  });

  afterAll(async () => {
    await pruneDanglingReleaseImages(engine);
  });

  it('walks the demo path 2023.1 -> 2025.1 with every phase in a container of its release image', async () => {
    await using db = await seededDatabase();
    const before = await fingerprint(db.url);
    const watch = await watchContainers(engine);
    const run = leapfrog([
      'apply',
      '--to',
      '2025.1',
      '--executor',
      'docker',
      '--database-url',
      db.url,
      '--output',
      'json',
    ]);
    const result = await run;
    await new Promise((resolve) => setTimeout(resolve, 300));
    watch.stop();

    expect(result.exitCode, result.stderr + result.stdout.slice(-2000)).toBe(0);
    const summary = lastJson(result.stdout);
    expect(summary).toMatchObject({ type: 'summary', status: 'succeeded', finalRelease: { release: '2025.1' } });
    expect(summary['path']).toEqual(['2024.1', '2025.1']);
    const phases = summary['phases'] as {
      release: string;
      phase: string;
      status: string;
      checks: { result: number }[];
    }[];
    expect(phases.every((p) => p.status === 'succeeded')).toBe(true);
    const checks = phases.filter((p) => p.phase === 'check').flatMap((p) => p.checks);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.result === 0)).toBe(true);

    const mine = watch.seen.filter(ownedBy(run.pid));
    const byRelease = (release: string) => mine.filter((c) => c.labels['leapfrog.release'] === release);
    for (const release of ['2024.1', '2025.1']) {
      const containers = byRelease(release);
      expect(new Set(containers.map((c) => c.labels['leapfrog.phase']))).toEqual(phasesOf.get(release));
      expect(phasesOf.get(release)).toContain('data');
      for (const c of containers) expect(c.imageId, `container ${c.id} of ${release}`).toBe(imageIds.get(release));
    }
    expect(mine.every((c) => c.labels['leapfrog.run'] === summary['runId'])).toBe(true);
    expect(mine).toHaveLength(byRelease('2024.1').length + byRelease('2025.1').length);
    expect((await leapfrogContainers(engine)).filter(ownedBy(run.pid))).toEqual([]);
    expect(await fingerprint(db.url)).toEqual(before);
    expect(result.stdout + result.stderr).not.toContain(new URL(db.url).password || db.url);
  });

  it('fails the phase when its container is killed mid data phase (137), and the re-run resumes and finishes', async () => {
    await using db = await seededDatabase();
    const before = await fingerprint(db.url);
    let killed: string | null = null;
    const watch = await watchContainers(engine, async (seen) => {
      if (killed === null && seen.labels['leapfrog.phase'] === 'data' && seen.labels['leapfrog.release'] === '2024.1') {
        killed = seen.id;
        await engine.getContainer(seen.id).kill();
      }
    });
    const first = await leapfrog(['apply', '--to', '2025.1', '--executor', 'docker', '--database-url', db.url]);
    watch.stop();
    expect(killed).not.toBeNull();
    expect(first.exitCode, first.stderr).toBe(1);
    expect(first.stdout + first.stderr).toMatch(/137/);

    const watchAgain = await watchContainers(engine);
    const second = leapfrog([
      'apply',
      '--to',
      '2025.1',
      '--executor',
      'docker',
      '--database-url',
      db.url,
      '--output',
      'json',
    ]);
    const done = await second;
    await new Promise((resolve) => setTimeout(resolve, 300));
    watchAgain.stop();
    expect(done.exitCode, done.stderr + done.stdout.slice(-2000)).toBe(0);
    expect(lastJson(done.stdout)).toMatchObject({ status: 'succeeded', finalRelease: { release: '2025.1' } });
    // Resumed: 2024.1's schema phase had succeeded and did not run again.
    const rerun = watchAgain.seen.filter(ownedBy(second.pid));
    expect(
      rerun.some((c) => c.labels['leapfrog.release'] === '2024.1' && c.labels['leapfrog.phase'] === 'schema'),
    ).toBe(false);
    expect(rerun.some((c) => c.labels['leapfrog.release'] === '2024.1' && c.labels['leapfrog.phase'] === 'data')).toBe(
      true,
    );
    expect(await fingerprint(db.url)).toEqual(before);
  });

  it('SIGINT leaves no container behind; SIGKILL leaves one, which the next run reaps before finishing', async () => {
    await using db = await seededDatabase();
    const interrupt = async (signal: 'SIGINT' | 'SIGKILL') => {
      let resolveStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (resolveStarted = resolve));
      const run = leapfrog(['apply', '--to', '2025.1', '--executor', 'docker', '--database-url', db.url]);
      const watch = await watchContainers(engine, (seen) => {
        if (seen.labels['leapfrog.owner'] === `${hostname()}:${run.pid ?? -1}`) resolveStarted();
      });
      await started;
      run.kill(signal);
      const result = await run;
      watch.stop();
      return { result, pid: run.pid };
    };

    const sigint = await interrupt('SIGINT');
    expect(sigint.result.exitCode, sigint.result.stderr).toBe(130);
    expect((await leapfrogContainers(engine)).filter(ownedBy(sigint.pid))).toEqual([]);

    const sigkill = await interrupt('SIGKILL');
    const leftovers = (await leapfrogContainers(engine)).filter(ownedBy(sigkill.pid));
    expect(leftovers).toHaveLength(1);

    // Run again: the lock was freed when the killed process's session ended.
    const next = await leapfrog(['apply', '--to', '2025.1', '--executor', 'docker', '--database-url', db.url]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect((await leapfrogContainers(engine)).filter(ownedBy(sigkill.pid))).toEqual([]);
    expect(next.stdout + next.stderr).toContain(`removed leftover container ${leftovers[0]?.Id.slice(0, 12) ?? '?'}`);
  });

  describe('with a catalog of its own image tags', () => {
    let scratch: string;
    let catalogDir: string;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'leapfrog-docker-e2e-'));
      catalogDir = join(scratch, 'release-images');
      await cp('release-images', catalogDir, { recursive: true });
      for (const release of ['2023.1', '2023.2', '2024.1', '2024.2', '2025.1']) {
        const file = join(catalogDir, release, 'release.yaml');
        await writeFile(
          file,
          (await readFile(file, 'utf8')).replace('leapfrog-demo/migrate:', 'leapfrog-test/e2e-migrate:'),
        );
      }
    });

    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
      for (const image of await engine.listImages({ filters: { reference: ['leapfrog-test/e2e-migrate'] } })) {
        await engine
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    });

    it('a missing image fails before anything runs, naming the image and `leapfrog images build`', async () => {
      await using db = await seededDatabase();
      const result = await leapfrog([
        'apply',
        '--to',
        '2025.1',
        '--executor',
        'docker',
        '--catalog',
        catalogDir,
        '--database-url',
        db.url,
      ]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/leapfrog-test\/e2e-migrate:2024\.1 of release 2024\.1 is not present/);
      expect(result.stderr).toContain('leapfrog images build --release 2024.1');
      expect(result.stderr).not.toContain(new URL(db.url).password || '\0');
    });

    it('images build, plan --out pins digests, and apply refuses (exit 6) after an image was rebuilt', async () => {
      await using db = await seededDatabase();
      const build = await leapfrog(['images', 'build', '--catalog', catalogDir, '--base-image', BASE_IMAGE]);
      expect(build.exitCode, build.stderr).toBe(0);
      expect(build.stdout).toContain('built 5 images');
      expect(build.stderr).toContain('Successfully tagged leapfrog-test/e2e-migrate:2025.1');

      const list = await leapfrog(['images', 'list', '--catalog', catalogDir, '--output', 'json']);
      const rows = lastJson(list.stdout)['images'] as { release: string; present: boolean; digest: string }[];
      expect(rows.map((r) => r.present)).toEqual([true, true, true, true, true]);

      const planFile = join(scratch, 'plan.json');
      const plan = await leapfrog([
        'plan',
        '--from',
        '2023.1',
        '--to',
        '2025.1',
        '--catalog',
        catalogDir,
        '--out',
        planFile,
      ]);
      expect(plan.exitCode, plan.stderr).toBe(0);
      const saved = JSON.parse(await readFile(planFile, 'utf8')) as {
        steps: { release: string; imageDigest: string }[];
      };
      expect(saved.steps.map((s) => s.imageDigest)).toEqual(
        saved.steps.map((s) => rows.find((r) => r.release === s.release)?.digest),
      );

      // Someone rebuilds 2025.1's tag with different content: the pinned plan is now stale.
      await writeFile(join(catalogDir, '2025.1', 'NOTE'), 'rebuilt after planning\n');
      const rebuild = await leapfrog([
        'images',
        'build',
        '--release',
        '2025.1',
        '--catalog',
        catalogDir,
        '--base-image',
        BASE_IMAGE,
      ]);
      expect(rebuild.exitCode, rebuild.stderr).toBe(0);
      const apply = await leapfrog([
        'apply',
        '--plan',
        planFile,
        '--executor',
        'docker',
        '--catalog',
        catalogDir,
        '--database-url',
        db.url,
      ]);
      expect(apply.exitCode, apply.stderr).toBe(6);
      expect(apply.stderr).toContain('leapfrog-test/e2e-migrate:2025.1 (release 2025.1) is now sha256:');
      expect(apply.stderr).toContain(`leapfrog plan --from 2023.1 --to 2025.1 --out ${planFile}`);
    });
  });
});
