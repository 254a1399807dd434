import type { Command } from 'commander';
import { action, type GlobalOptions } from './action.js';
import { withCatalog } from './common-options.js';
import { nextCommand } from '../util/next-command.js';

interface ImagesOptions {
  catalog: string;
  dockerSocket?: string;
}

interface BuildOptions extends ImagesOptions {
  release?: string;
  baseImage?: string;
  kitBundle?: string;
}

export function register(program: Command): void {
  const images = program
    .command('images')
    .description("build and list the releases' migration images (the docker executor runs phases in them)")
    .addHelpText(
      'after',
      '\nExamples:\n  leapfrog images build --release 2024.1\n  leapfrog images build --base-image leapfrog/node-base:local\n  leapfrog images list',
    );

  withSocket(
    withCatalog(
      images
        .command('build')
        .description(
          'build release images with the Docker Engine: tag = the manifest `image`; context = the Dockerfile, the kit bundle and every release folder up to it',
        )
        .option('--release <release>', 'build only this release (default: every release of the catalog)')
        .option(
          '--base-image <image>',
          "BASE_IMAGE build argument (default: the Dockerfile's, an official Node image); offline: leapfrog/node-base:local from scripts/build-base-image.sh",
        )
        .option(
          '--kit-bundle <file>',
          'the bundled release kit to put in the images (default: dist/kit/leapfrog-kit.mjs, made by npm run build)',
        )
        .addHelpText(
          'after',
          '\nExamples:\n  scripts/build-base-image.sh && leapfrog images build --base-image leapfrog/node-base:local\n  leapfrog images build --release 2025.1',
        ),
    ),
  ).action(action<BuildOptions>(buildImages));

  withSocket(
    withCatalog(
      images
        .command('list')
        .description(
          "each release's image, whether it is present on the engine, and its digest (the image id a saved plan pins)",
        )
        .addHelpText('after', '\nExamples:\n  leapfrog images list\n  leapfrog images list --output json'),
    ),
  ).action(action<ImagesOptions>(listImages));
}

function withSocket(command: Command): Command {
  return command.option(
    '--docker-socket <path>',
    'Docker Engine unix socket (default: $DOCKER_HOST, then /var/run/docker.sock)',
  );
}

async function buildImages(options: BuildOptions & GlobalOptions): Promise<number> {
  const [{ loadCatalog }, { connectDocker }, { buildReleaseImage, imageBuildTargets }, { requireKitBundle }] =
    await Promise.all([
      import('../catalog/load-catalog.js'),
      import('../images/docker-connection.js'),
      import('../images/build-image.js'),
      import('../images/kit-bundle.js'),
    ]);
  const catalog = await loadCatalog(options.catalog);
  // Refused here, before the kit bundle and the engine are needed: a release without an image.
  const { targets, skipped } = imageBuildTargets(catalog, options.release);
  const json = options.output === 'json';
  const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
  for (const release of skipped) {
    if (json) emit({ type: 'image-build-skipped', release: release.id, reason: `no image in ${release.file}` });
  }
  if (skipped.length > 0 && !json)
    process.stderr.write(`skipping ${skipped.map((r) => r.id).join(', ')}: no image in their release.yaml\n`);
  const kitBundlePath = requireKitBundle(options.kitBundle);
  const docker = await connectDocker(options.dockerSocket === undefined ? {} : { socketPath: options.dockerSocket });

  const built = [];
  for (const [index, release] of targets.entries()) {
    const started = performance.now();
    const heading = `[${index + 1}/${targets.length}] building ${release.image} for release ${release.id}`;
    if (json) emit({ type: 'image-build-started', release: release.id, image: release.image });
    else process.stderr.write(`${heading}\n`);
    const image = await buildReleaseImage(docker, {
      catalog,
      release,
      kitBundlePath,
      ...(options.baseImage === undefined ? {} : { baseImage: options.baseImage }),
      onProgress: (line) => {
        // Progress goes to stderr in text mode, so stdout carries only the summary for pipes.
        if (json) emit({ type: 'image-build-progress', release: release.id, line });
        else process.stderr.write(`  ${release.id} | ${line}\n`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    built.push({ ...image, seconds: Number(seconds.toFixed(2)) });
    if (json) emit({ type: 'image-built', ...image, seconds: Number(seconds.toFixed(2)) });
  }

  if (json) {
    emit({ type: 'summary', built, skipped: skipped.map((r) => r.id) });
    return 0;
  }
  const { textTable } = await import('./text-table.js');
  const rows = [
    ['RELEASE', 'IMAGE', 'ID', 'CARRIES', 'TIME'],
    ...built.map((b) => [b.release, b.image, b.id.slice(0, 19), b.carries.join(' '), `${b.seconds.toFixed(1)} s`]),
  ];
  process.stdout.write(
    `built ${built.length} image${built.length === 1 ? '' : 's'}${skipped.length === 0 ? '' : ` (skipped ${skipped.length} without an image: ${skipped.map((r) => r.id).join(', ')})`}\n\n${textTable(rows)}\n\nnext: ${nextCommand('apply', '--to', '<release>', '--executor', 'docker')}\n`,
  );
  return 0;
}

async function listImages(options: ImagesOptions & GlobalOptions): Promise<number> {
  const [{ loadCatalog }, { connectDocker }, { listReleaseImages }] = await Promise.all([
    import('../catalog/load-catalog.js'),
    import('../images/docker-connection.js'),
    import('../images/list-images.js'),
  ]);
  const catalog = await loadCatalog(options.catalog);
  const docker = await connectDocker(options.dockerSocket === undefined ? {} : { socketPath: options.dockerSocket });
  const rows = await listReleaseImages(docker, catalog);
  // Releases without an image have nothing to list; they are named, not silently missing.
  const imageless = catalog.releases.filter((r) => r.image === undefined).map((r) => r.id);
  if (options.output === 'json') {
    process.stdout.write(`${JSON.stringify({ type: 'summary', images: rows, withoutImage: imageless })}\n`);
    return 0;
  }
  const { textTable } = await import('./text-table.js');
  const table = [
    ['RELEASE', 'IMAGE', 'PRESENT', 'DIGEST', 'CREATED', 'SIZE'],
    ...rows.map((r) => [
      r.release,
      r.image,
      r.present ? 'yes' : 'NO',
      r.digest ?? '-',
      r.created === null ? '-' : r.created.replace(/\.\d+Z$/, 'Z'),
      r.sizeBytes === null ? '-' : `${(r.sizeBytes / 1e6).toFixed(1)} MB`,
    ]),
  ];
  const missing = rows.filter((r) => !r.present);
  const next =
    missing.length === 0
      ? `next: ${nextCommand('plan', '--from', '<release>', '--to', '<release>', '--out', 'plans/<from>-to-<to>.json')} (pins these digests)`
      : `next: ${nextCommand('images build', ...(missing.length === 1 ? ['--release', missing[0]?.release ?? ''] : []))} (offline: add --base-image leapfrog/node-base:local after scripts/build-base-image.sh)`;
  process.stdout.write(
    `${rows.length - missing.length} of ${rows.length} release images present${imageless.length === 0 ? '' : `; no image named by ${imageless.join(', ')} (not listed)`}\n\n${textTable(table)}\n\n${next}\n`,
  );
  return 0;
}
