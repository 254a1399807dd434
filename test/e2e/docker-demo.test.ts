import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerForTests, ensureBaseImage } from '../helpers/docker.js';

// `leapfrog demo --executor docker` on a machine whose engine has none of the release images:
// the demo builds what its plan needs (on the offline base image) and walks the path in
// containers. The catalog is a copy whose images carry a tag unique to this test, so the images
// other suites use are never touched.
const docker = await dockerForTests('demo --executor docker e2e');
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const tag = `e2e-${randomBytes(4).toString('hex')}`;

async function catalogWithUniqueTags(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leapfrog-docker-demo-'));
  await cp(join(process.cwd(), 'release-images'), dir, { recursive: true });
  for (const release of await readdir(dir)) {
    const manifest = join(dir, release, 'release.yaml');
    const text = await readFile(manifest, 'utf8');
    await writeFile(
      manifest,
      text.replace(/image: "leapfrog-demo\/migrate:([^"]+)"/, `image: "leapfrog-demo/migrate:$1-${tag}"`),
    );
  }
  return dir;
}

// Skipped only where no Docker Engine answers (a developer machine without dockerd; the reason is
// printed by dockerForTests). Under .ci/run, LEAPFROG_REQUIRE_DOCKER=1 makes that a failure instead.
describe.skipIf(docker === null)('demo --executor docker (built CLI, real Docker Engine)', () => {
  const engine = docker as Dockerode;
  const built = ['2024.1', '2025.1'].map((release) => `leapfrog-demo/migrate:${release}-${tag}`);
  let catalogDir = '';

  afterAll(async () => {
    for (const image of built)
      await engine
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    if (catalogDir !== '') await rm(catalogDir, { recursive: true, force: true });
  });

  it('builds the missing release images and reaches 2025.1 in containers with the data intact', async () => {
    await ensureBaseImage();
    catalogDir = await catalogWithUniqueTags();
    for (const image of built) {
      await expect(engine.getImage(image).inspect()).rejects.toThrow();
    }
    const result = await execa(
      process.execPath,
      [cli, 'demo', '--rows', '1000', '--executor', 'docker', '--catalog', catalogDir, '--output', 'json'],
      {
        reject: false,
        env: { DATABASE_URL: '' },
      },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) =>
          JSON.parse(line) as { type?: string; ok?: boolean; plan?: string[]; summary?: { finalRelease?: unknown } },
      )
      .find((event) => event.type === 'demo-summary');
    expect(summary?.ok).toBe(true);
    expect(summary?.plan).toEqual(['2024.1', '2025.1']);
    for (const image of built) {
      const info = await engine.getImage(image).inspect();
      expect(info.Id).toMatch(/^sha256:/);
    }
  });
});
