import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Catalog, Release } from '../catalog/release.js';
import { BadInputError } from '../errors/index.js';

export interface BuildContextOptions {
  catalog: Catalog;
  release: Release;
  kitBundlePath: string;
}

/** The folder name a release has under releases/ in the image (and under the catalog on disk). */
export function releaseFolderName(release: Release): string {
  return basename(release.dir);
}

/**
 * The releases an image of `release` carries: itself and every earlier one, because a release's
 * migrations are written once in the tree and a later release replays the earlier ones' from
 * there, as a tagged source tree would hold them.
 */
export function releasesInImage(catalog: Catalog, release: Release): Release[] {
  const index = catalog.releases.findIndex((r) => r.id === release.id);
  if (index < 0) throw new Error(`release ${release.id} is not in the catalog it was built from`);
  return catalog.releases.slice(0, index + 1);
}

/** The Dockerfile of a release: the manifest's `build`, else a Dockerfile in its folder. */
export function dockerfilePath(release: Release): string {
  return join(release.dir, release.build?.context ?? '.', release.build?.dockerfile ?? 'Dockerfile');
}

/**
 * The build context as a tar stream, made in memory rather than from a folder on disk: it holds
 * /Dockerfile, /leapfrog-kit.mjs and /releases/<release>/… for every release up to this one.
 * File modes are kept, because bin/leapfrog-kit must stay executable inside the image.
 */
export async function createBuildContext(options: BuildContextOptions): Promise<Readable> {
  const { catalog, release, kitBundlePath } = options;
  const dockerfile = dockerfilePath(release);
  let dockerfileBytes: Buffer;
  try {
    dockerfileBytes = await readFile(dockerfile);
  } catch (error) {
    throw new BadInputError(
      `release ${release.id} has no Dockerfile at ${relative(process.cwd(), dockerfile) || dockerfile}`,
      {
        hint: `add one (see release-images/2024.1/Dockerfile) or fix \`build\` in ${release.file}`,
        cause: error,
      },
    );
  }

  const pack = tar.pack();
  const fill = async () => {
    await addBuffer(pack, 'Dockerfile', dockerfileBytes, 0o644);
    await addFile(pack, 'leapfrog-kit.mjs', kitBundlePath);
    for (const included of releasesInImage(catalog, release)) {
      await addTree(pack, included.dir, `releases/${releaseFolderName(included)}`);
    }
    pack.finalize();
  };
  // The pack is read by the engine while it is filled: errors must reach the reader, not vanish.
  fill().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  // tar-stream packs are streamx streams; Readable.from makes them a Node stream for dockerode
  // and carries a failure to read a file to the engine's side as a stream error.
  return Readable.from(pack);
}

function addBuffer(pack: tar.Pack, name: string, content: Buffer, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, mode, size: content.length, mtime: new Date(0) }, content, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}

async function addFile(pack: tar.Pack, name: string, path: string): Promise<void> {
  const info = await stat(path);
  const entry = pack.entry({ name, mode: info.mode & 0o777, size: info.size, mtime: info.mtime });
  await pipeline(createReadStream(path), entry);
}

async function addTree(pack: tar.Pack, dir: string, prefix: string): Promise<void> {
  pack.entry({ name: prefix, type: 'directory', mode: 0o755, mtime: new Date(0) });
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) await addTree(pack, path, name);
    else if (entry.isFile()) await addFile(pack, name, path);
  }
}
