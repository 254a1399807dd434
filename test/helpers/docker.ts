import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { execa } from 'execa';
import type { Catalog, Release } from '../../src/catalog/release.js';
import { buildReleaseImage } from '../../src/images/build-image.js';
import { tryConnectDocker } from '../../src/images/docker-connection.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The offline base image scripts/build-base-image.sh makes (no registry is reachable here). */
export const BASE_IMAGE = process.env['LEAPFROG_BASE_IMAGE'] ?? 'leapfrog/node-base:local';
export const FIXTURE_IMAGE = 'leapfrog-test/fixture:1';

/**
 * A tag of the fixture image of its own for one test file: files run in parallel, and each
 * removes its tag afterwards (removeFixtureImage), so a run leaves no image behind.
 */
export function fixtureImageTag(): string {
  return `leapfrog-test/fixture:${randomBytes(4).toString('hex')}`;
}

/** Removes a fixture tag (and the image, once no tag is left); gone already is fine. */
export async function removeFixtureImage(docker: Dockerode, image: string): Promise<void> {
  try {
    await docker.getImage(image).remove({ force: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

/** True when a Docker Engine answers on this machine. */
export async function dockerAvailable(): Promise<boolean> {
  return (await tryConnectDocker()) !== null;
}

/**
 * The engine for a docker test file, or null when it should be skipped. CI sets
 * LEAPFROG_REQUIRE_DOCKER=1: there an unreachable engine throws, so the file FAILS instead of
 * skipping; a developer without Docker gets the rest of the suite and a printed reason.
 */
export async function dockerForTests(suite: string): Promise<Dockerode | null> {
  const docker = await tryConnectDocker();
  if (docker !== null) return docker;
  if (process.env['LEAPFROG_REQUIRE_DOCKER'] === '1') {
    throw new Error(`${suite}: LEAPFROG_REQUIRE_DOCKER=1 but no Docker Engine answers (check \`docker info\`)`);
  }
  console.warn(`SKIPPED ${suite}: no Docker Engine answers on this machine (start dockerd to run it; CI requires it)`);
  return null;
}

/** Builds (or finds up to date) the offline base image; idempotent and about a second when fresh. */
export async function ensureBaseImage(): Promise<string> {
  await execa(join(root, 'scripts', 'build-base-image.sh'), ['--tag', BASE_IMAGE]);
  return BASE_IMAGE;
}

/** A Release value for a test image, with every field a real manifest would have. */
export function fixtureRelease(overrides: Partial<Release> = {}): Release {
  const dir = join(root, 'test', 'fixtures', 'docker-release');
  return {
    id: 'fixture',
    version: '1.0.0',
    image: FIXTURE_IMAGE,
    upgradeFrom: '<1.0.0',
    upgradeFromIsDefault: true,
    entry: false,
    milestone: false,
    yanked: false,
    env: {},
    phases: { schema: [] },
    timeoutsMs: { preflight: 60_000, schema: 60_000, data: 60_000, check: 60_000 },
    dir,
    file: 'test/fixtures/docker-release/release.yaml',
    manifestDigest: 'sha256:fixture',
    ...overrides,
  };
}

/** Builds the fixture image (test/fixtures/docker-release) on the offline base, through leapfrog's own build code. */
export async function ensureFixtureImage(docker: Dockerode, image = FIXTURE_IMAGE): Promise<Release> {
  await ensureBaseImage();
  const release = fixtureRelease({ image });
  const catalog: Catalog = { dir: dirname(release.dir), releases: [release], digest: 'sha256:fixture' };
  await buildReleaseImage(docker, {
    catalog,
    release,
    kitBundlePath: join(release.dir, 'bin', 'phase'),
    baseImage: BASE_IMAGE,
  });
  return release;
}

/** Every container carrying leapfrog's run label, with its labels (for leftover assertions). */
export async function leapfrogContainers(docker: Dockerode, runId?: string): Promise<Dockerode.ContainerInfo[]> {
  const label = runId === undefined ? ['leapfrog.run'] : [`leapfrog.run=${runId}`];
  return docker.listContainers({ all: true, filters: { label } });
}

/**
 * Builds every demo release image (release-images/, tags from the manifests) on the offline base
 * with the built kit bundle, as CI does; the engine's cache makes a repeat about a second.
 */
export async function ensureDemoImages(docker: Dockerode, catalogDir = join(root, 'release-images')): Promise<Catalog> {
  await ensureBaseImage();
  const [{ loadCatalog }, { requireKitBundle }] = await Promise.all([
    import('../../src/catalog/load-catalog.js'),
    import('../../src/images/kit-bundle.js'),
  ]);
  const catalog = await loadCatalog(catalogDir);
  const kitBundlePath = requireKitBundle();
  for (const release of catalog.releases)
    await buildReleaseImage(docker, { catalog, release, kitBundlePath, baseImage: BASE_IMAGE });
  return catalog;
}

/** A container leapfrog created, as seen the moment the engine reported it. */
export interface SeenContainer {
  id: string;
  /** The image id the container runs (inspected at create time, so a later retag cannot blur it). */
  imageId: string | null;
  labels: Record<string, string>;
}

/**
 * Records every container the engine creates with leapfrog's labels while it runs, through the
 * engine's event stream: a container lives only as long as its phase, so listing afterwards
 * would find nothing. `onCreate` lets a test act on a container (kill it) as it appears.
 */
export async function watchContainers(
  docker: Dockerode,
  onStart?: (seen: SeenContainer) => void | Promise<void>,
): Promise<{ seen: SeenContainer[]; stop: () => void }> {
  const seen: SeenContainer[] = [];
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['create', 'start'], label: ['leapfrog.run'] },
  })) as NodeJS.ReadableStream & { destroy?: () => void };
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
      if (event.Action === 'create') {
        const record: SeenContainer = { id: event.Actor.ID, imageId: null, labels: {} };
        seen.push(record);
        docker
          .getContainer(event.Actor.ID)
          .inspect()
          .then((info) => {
            record.imageId = info.Image;
            record.labels = info.Config.Labels;
          })
          .catch(() => undefined);
      } else if (event.Action === 'start' && onStart !== undefined) {
        const record = seen.find((s) => s.id === event.Actor.ID) ?? { id: event.Actor.ID, imageId: null, labels: {} };
        const labels = Object.fromEntries(
          Object.entries(event.Actor.Attributes).filter(([k]) => k.startsWith('leapfrog.')),
        );
        void Promise.resolve(onStart({ ...record, labels: { ...labels, ...record.labels } })).catch(() => undefined);
      }
    }
  });
  return { seen, stop: () => stream.destroy?.() };
}

/** Rebuilt tags leave their old images dangling: the suite removes leapfrog's own, and only those. */
export async function pruneDanglingReleaseImages(docker: Dockerode): Promise<void> {
  await docker.pruneImages({ filters: { dangling: ['true'], label: ['leapfrog.image.release'] } });
}
