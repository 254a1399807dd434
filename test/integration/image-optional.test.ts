import { randomUUID } from 'node:crypto';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { Release } from '../../src/catalog/release.js';
import { BadInputError, ExitCode } from '../../src/errors/index.js';
import { createDockerExecutor } from '../../src/executors/docker-executor.js';
import { dockerForTests, fixtureRelease, leapfrogContainers } from '../helpers/docker.js';

// The docker executor refuses a release whose manifest names no image (`image` is optional for
// the process executor), before it pulls, creates or runs anything: exit 2 naming file and field.
const docker = await dockerForTests('docker executor without an image');

function imageless(): Release {
  const { image: _image, ...release } = fixtureRelease({ id: 'no-image' });
  return release;
}

describe.skipIf(docker === null)('the docker executor and a release without an image (real Docker Engine)', () => {
  const engine = docker as Dockerode;

  it('prepare refuses it with exit 2, naming the release, its file and the image field', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const error = await executor.prepare([imageless()], `test-${randomUUID()}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).exitCode).toBe(ExitCode.badInput);
    expect((error as BadInputError).message).toBe(
      'release no-image has no image, which the docker executor needs (test/fixtures/docker-release/release.yaml: image)',
    );
    expect((error as BadInputError).hint).toContain('or run with --executor process');
  });

  it('run refuses it without creating a container', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const runId = `test-${randomUUID()}`;
    const error = await executor
      .run(['phase', 'ok'], {
        runId,
        release: imageless(),
        phase: 'schema',
        env: {},
        timeoutMs: 60_000,
        signal: new AbortController().signal,
        onLine: () => undefined,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain('(test/fixtures/docker-release/release.yaml: image)');
    expect(await leapfrogContainers(engine, runId)).toEqual([]);
  });
});
