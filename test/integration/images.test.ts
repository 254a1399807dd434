import { mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import type { Catalog } from '../../src/catalog/release.js';
import { LeapfrogError, StalePlanError } from '../../src/errors/index.js';
import { buildReleaseImage, ImageBuildError } from '../../src/images/build-image.js';
import { imageDigest } from '../../src/images/image-digest.js';
import { requireKitBundle } from '../../src/images/kit-bundle.js';
import { listReleaseImages } from '../../src/images/list-images.js';
import { verifyPlanImages } from '../../src/images/verify-plan-images.js';
import type { Plan } from '../../src/planner/plan.js';
import { BASE_IMAGE, dockerForTests, ensureBaseImage, pruneDanglingReleaseImages } from '../helpers/docker.js';

// Real Docker Engine: skipped with a printed reason only where none answers and CI does not require one.
const docker = await dockerForTests('release images');

const TAG = 'leapfrog-test/images';

async function run(engine: Dockerode, image: string, cmd: string[]): Promise<string> {
  const container = await engine.createContainer({ Image: image, Cmd: cmd, HostConfig: { NetworkMode: 'none' } });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: true });
    // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
    let text = '';
    for (let at = 0; at + 8 <= logs.length;) {
      const size = logs.readUInt32BE(at + 4);
      text += logs.subarray(at + 8, at + 8 + size).toString('utf8');
      at += 8 + size;
    }
    return text;
  } finally {
    await container.remove({ force: true });
  }
}

// Skipped only where no Docker Engine answers (a developer machine without dockerd; the reason is
// printed by dockerForTests). Under .ci/run, LEAPFROG_REQUIRE_DOCKER=1 makes that a failure instead.
describe.skipIf(docker === null)('release images (real Docker Engine)', () => {
  const engine = docker as Dockerode;
  let catalog: Catalog;
  let scratch: string;
  let kit: string;

  beforeAll(async () => {
    await ensureBaseImage();
    const demo = await loadCatalog('release-images');
    // Test tags, so that the suite never replaces the demo images an operator built.
    catalog = { ...demo, releases: demo.releases.map((r) => ({ ...r, image: `${TAG}:${r.id}` })) };
    scratch = await mkdtemp(join(tmpdir(), 'leapfrog-images-'));
    kit = join(scratch, 'leapfrog-kit.mjs');
    await writeFile(kit, 'console.log("kit stand-in", process.argv.slice(2).join(" "));\n');
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    for (const release of catalog.releases)
      await engine
        .getImage(release.image as string)
        .remove({ force: true })
        .catch(() => undefined);
    await pruneDanglingReleaseImages(engine);
  });

  it('builds a release image that carries the kit and every release up to it, tagged with the manifest image', async () => {
    const release = catalog.releases[1];
    if (release === undefined) throw new Error('the demo catalog needs two releases');
    const progress: string[] = [];
    const built = await buildReleaseImage(engine, {
      catalog,
      release,
      kitBundlePath: kit,
      baseImage: BASE_IMAGE,
      onProgress: (l) => progress.push(l),
    });

    expect(built.carries).toEqual(catalog.releases.slice(0, 2).map((r) => r.id));
    expect(built.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await imageDigest(release.image as string, engine)).toBe(built.id);
    expect(progress.some((l) => l.startsWith('Step '))).toBe(true);

    const info = await engine.getImage(release.image as string).inspect();
    expect(info.Config.Labels).toMatchObject({
      'leapfrog.image.release': release.id,
      'leapfrog.image.manifest-digest': release.manifestDigest,
    });
    expect(info.Config.WorkingDir).toBe(`/opt/leapfrog/releases/${release.id}`);

    const listing = await run(engine, release.image as string, [
      'sh',
      '-c',
      'ls /opt/leapfrog /opt/leapfrog/releases; test -x bin/leapfrog-kit && echo kit-executable; echo "$PATH"',
    ]);
    const lines = listing.trim().split('\n');
    expect(lines).toContain('leapfrog-kit.mjs');
    expect(lines).toContain(catalog.releases[0]?.id);
    expect(lines).toContain(release.id);
    expect(lines).not.toContain(catalog.releases[2]?.id);
    expect(lines).toContain('kit-executable');
    expect(lines.at(-1)).toMatch(new RegExp(`^/opt/leapfrog/releases/${release.id.replace('.', '\\.')}/bin:`));
  });

  it('lists every release with presence and digest', async () => {
    const release = catalog.releases[0];
    if (release === undefined) throw new Error('empty catalog');
    const built = await buildReleaseImage(engine, { catalog, release, kitBundlePath: kit, baseImage: BASE_IMAGE });
    const absent = `${TAG}:absent-${Date.now()}`;
    const rows = await listReleaseImages(engine, {
      ...catalog,
      releases: [release, { ...release, id: 'absent', image: absent }],
    });
    expect(rows[0]).toMatchObject({ release: release.id, present: true, digest: built.id });
    expect(rows[0]?.sizeBytes).toBeGreaterThan(0);
    expect(rows[1]).toEqual({
      release: 'absent',
      image: absent,
      present: false,
      digest: null,
      created: null,
      sizeBytes: null,
    });
  });

  it('reports a failing Dockerfile step as an ImageBuildError naming the release', async () => {
    const folder = join(scratch, 'broken');
    await cp(catalog.releases[0]?.dir ?? '', folder, { recursive: true });
    await writeFile(join(folder, 'Dockerfile'), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY does-not-exist /x\n`);
    const release = {
      ...(catalog.releases[0] as Catalog['releases'][number]),
      id: 'broken',
      dir: folder,
      image: `${TAG}:broken`,
    };
    const error = await buildReleaseImage(engine, {
      catalog: { ...catalog, releases: [release] },
      release,
      kitBundlePath: kit,
      baseImage: BASE_IMAGE,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as LeapfrogError).exitCode).toBe(1);
    expect((error as Error).message).toContain('does-not-exist');
    expect((error as LeapfrogError).hint).toContain('leapfrog images build --release broken');
  });

  it('says to run npm run build when the kit bundle is missing', () => {
    const error = (() => {
      try {
        requireKitBundle(join(scratch, 'nope', 'leapfrog-kit.mjs'));
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(LeapfrogError);
    expect((error as LeapfrogError).exitCode).toBe(2);
    expect((error as LeapfrogError).hint).toContain('npm run build');
  });

  it('refuses a plan whose pinned digest no longer matches the image (exit 6), and accepts a matching one', async () => {
    const release = catalog.releases[0];
    if (release === undefined) throw new Error('empty catalog');
    const current = await imageDigest(release.image as string, engine);
    if (current === null)
      await buildReleaseImage(engine, { catalog, release, kitBundlePath: kit, baseImage: BASE_IMAGE });
    const digest = (await imageDigest(release.image as string, engine)) as string;
    const plan = (imageDigestPinned: string | null, image: string | null = release.image ?? null): Plan => ({
      planVersion: 1,
      from: { release: 'x', version: '0.0.1' },
      to: { release: release.id, version: release.version },
      catalogDigest: catalog.digest,
      steps: [
        {
          release: release.id,
          version: release.version,
          image,
          imageDigest: imageDigestPinned,
          manifestDigest: release.manifestDigest,
          reasons: [{ kind: 'target' }],
        },
      ],
    });

    expect(await verifyPlanImages(plan(digest), { docker: engine })).toEqual([
      { release: release.id, image: release.image, pinned: digest, current: digest },
    ]);
    expect(await verifyPlanImages(plan(null), { docker: engine })).toEqual([]);
    // An image that is gone is the docker executor's to report (missing image), not a mismatch.
    expect(await verifyPlanImages(plan('sha256:gone', `${TAG}:absent`), { docker: engine })).toHaveLength(1);

    const stale = await verifyPlanImages(plan(`sha256:${'0'.repeat(64)}`), {
      docker: engine,
      planFile: 'plans/x.json',
    }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StalePlanError);
    expect((stale as LeapfrogError).exitCode).toBe(6);
    expect((stale as Error).message).toContain(release.image);
    expect((stale as LeapfrogError).hint).toContain(`leapfrog plan --from x --to ${release.id} --out plans/x.json`);
  });
});
