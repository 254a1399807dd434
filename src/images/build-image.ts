import type Dockerode from 'dockerode';
import type { Catalog, Release } from '../catalog/release.js';
import { findRelease, releaseImage } from '../catalog/find-release.js';
import { BadInputError, LeapfrogError, ExitCode } from '../errors/index.js';
import { createBuildContext, releasesInImage } from './build-context.js';
import { dockerMessage } from './docker-connection.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';

const log = logger('docker:build');

export interface BuildImageOptions {
  catalog: Catalog;
  release: Release;
  kitBundlePath: string;
  /** The `BASE_IMAGE` build argument; the Dockerfile's default (an official Node image) when absent. */
  baseImage?: string;
  /** Each line of the engine's build output (`Step 3/7 : COPY …`), as it arrives. */
  onProgress?: (line: string) => void;
}

export interface BuiltImage {
  release: string;
  image: string;
  /** The image id ("sha256:…"), which `plan --out` pins. */
  id: string;
  /** Releases whose folders the image carries, oldest first. */
  carries: string[];
}

/**
 * The releases `images build` builds: the one asked for, which must name an image (exit 2 naming
 * its file and field otherwise), or every release that names one. Releases without an image (a
 * process-executor catalog, or an entry kept for fresh installs) are skipped and returned, so the
 * verb can say so; a catalog where none names an image has nothing to build (exit 2).
 */
export function imageBuildTargets(catalog: Catalog, wanted?: string): { targets: Release[]; skipped: Release[] } {
  if (wanted !== undefined) {
    const release = findRelease(catalog, wanted);
    releaseImage(release, '`leapfrog images build`', 'or build another release');
    return { targets: [release], skipped: [] };
  }
  const targets = catalog.releases.filter((r) => r.image !== undefined);
  const skipped = catalog.releases.filter((r) => r.image === undefined);
  if (targets.length === 0) {
    throw new BadInputError(`no release of the catalog in ${catalog.dir} names an image: nothing to build`, {
      hint: `add image: "<repository>:<release>" to the release.yaml files that the docker executor should run (or under defaults in catalog.yaml); a process-executor catalog needs no images: ${nextCommand('apply', '--to', '<release>', '--executor', 'process')}`,
      details: { catalog: catalog.dir, field: 'image' },
    });
  }
  return { targets, skipped };
}

/** A build that the engine refused or that failed in a Dockerfile step. Exit 1: nothing was tagged. */
export class ImageBuildError extends LeapfrogError {
  constructor(message: string, options: { hint: string; cause?: unknown; details?: Record<string, unknown> }) {
    super(message, ExitCode.phaseFailed, options);
  }
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Builds one release's migration image with the Engine API and tags it with the manifest's
 * `image`. The engine reports a failed Dockerfile step inside the progress stream, not as an
 * HTTP error, so the stream is read to the end and its `error` events become the exception.
 */
export async function buildReleaseImage(docker: Dockerode, options: BuildImageOptions): Promise<BuiltImage> {
  const { catalog, release } = options;
  const image = releaseImage(release, '`leapfrog images build`');
  const context = await createBuildContext(options);
  const buildargs: Record<string, string> = {};
  if (options.baseImage !== undefined) buildargs['BASE_IMAGE'] = options.baseImage;
  const hint = `fix the step above in ${release.build?.dockerfile ?? 'Dockerfile'} of release ${release.id}, or pass --base-image (scripts/build-base-image.sh builds leapfrog/node-base:local offline), then \`${nextCommand('images build', '--release', release.id)}\``;

  log.debug(
    `building ${image} for release ${release.id}${options.baseImage === undefined ? '' : ` on ${options.baseImage}`}`,
  );
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context, {
      t: image,
      buildargs,
      labels: {
        'leapfrog.image.release': release.id,
        'leapfrog.image.version': release.version,
        'leapfrog.image.manifest-digest': release.manifestDigest,
      },
      rm: true,
      forcerm: true,
    });
  } catch (error) {
    throw new ImageBuildError(`the Docker Engine refused to build ${image}: ${dockerMessage(error)}`, {
      hint,
      cause: error,
    });
  }

  let imageId: string | undefined;
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error) => (error ? reject(error) : resolve()),
      (event: BuildEvent) => {
        if (event.aux?.ID) imageId = event.aux.ID;
        const message = event.error ?? event.errorDetail?.message;
        if (message !== undefined) failure = message.trim();
        for (const line of (event.stream ?? event.status ?? '').split('\n')) {
          if (line.trim() !== '') options.onProgress?.(line.trimEnd());
        }
      },
    );
  }).catch((error: unknown) => {
    failure ??= dockerMessage(error);
  });
  if (failure !== undefined) {
    throw new ImageBuildError(`building ${image} for release ${release.id} failed: ${failure}`, {
      hint,
      details: { release: release.id, image },
    });
  }
  const id = imageId ?? (await docker.getImage(image).inspect()).Id;
  log.debug(`built ${image}: ${id}`);
  return { release: release.id, image, id, carries: releasesInImage(catalog, release).map((r) => r.id) };
}
