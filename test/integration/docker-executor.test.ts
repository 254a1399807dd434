import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../src/catalog/release.js';
import { LeapfrogError } from '../../src/errors/index.js';
import { createDockerExecutor, DockerExecutor } from '../../src/executors/docker-executor.js';
import type { OutputStream, PhaseRunOptions } from '../../src/executors/phase-executor.js';
import {
  dockerForTests,
  ensureFixtureImage,
  fixtureImageTag,
  fixtureRelease,
  leapfrogContainers,
  removeFixtureImage,
} from '../helpers/docker.js';

// Real Docker Engine: skipped (with a printed reason) only on a developer machine without one;
// in CI (LEAPFROG_REQUIRE_DOCKER=1) an unreachable engine fails this file instead.
const docker = await dockerForTests('docker executor');

interface Captured {
  lines: { line: string; stream: OutputStream }[];
  options: PhaseRunOptions;
}

function phaseOptions(release: Release, overrides: Partial<PhaseRunOptions> = {}): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    options: {
      runId: `test-${randomUUID()}`,
      release,
      phase: 'schema',
      env: {},
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onLine: (line, stream) => lines.push({ line, stream }),
      ...overrides,
    },
  };
}

async function waitForContainer(engine: Dockerode, runId: string): Promise<Dockerode.ContainerInfo> {
  for (let i = 0; i < 200; i++) {
    const [found] = await leapfrogContainers(engine, runId);
    if (found !== undefined && found.State === 'running') return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no running container of run ${runId} appeared`);
}

// Skipped only where no Docker Engine answers (a developer machine without dockerd; the reason is
// printed by dockerForTests). Under .ci/run, LEAPFROG_REQUIRE_DOCKER=1 makes that a failure instead.
describe.skipIf(docker === null)('docker executor (real Docker Engine)', () => {
  const engine = docker as Dockerode;
  let release: Release;
  let imageId: string;
  // This file's own tag, removed afterwards: the suite leaves no image behind.
  const image = fixtureImageTag();

  beforeAll(async () => {
    release = await ensureFixtureImage(engine, image);
    imageId = (await engine.getImage(release.image as string).inspect()).Id;
  });

  afterAll(async () => {
    // Nothing these tests start may outlive them, whatever failed.
    for (const info of await leapfrogContainers(engine)) {
      if (info.Labels['leapfrog.release'] === 'fixture') await engine.getContainer(info.Id).remove({ force: true });
    }
    await removeFixtureImage(engine, image);
  });

  it('streams stdout and stderr line by line, returns the exit code and removes the container', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const { lines, options } = phaseOptions(release);
    const result = await executor.run(['phase', 'mixed', '50'], options);

    expect(result).toMatchObject({ exitCode: 0, timedOut: false, aborted: false });
    const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.line);
    const stderr = lines.filter((l) => l.stream === 'stderr').map((l) => l.line);
    expect(stdout.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `out ${i}`));
    expect(stdout).toContain('{"progress":{"migration":"fixture","done":5,"remaining":0}}');
    expect(stdout.at(-1)).toBe('tail without newline ✓');
    expect(stderr).toEqual(['err 0', 'err 10', 'err 20', 'err 30', 'err 40']);
    expect(result.outputTail.at(-1)).toBe('tail without newline ✓');
    expect(result.outputTail.length).toBeLessThanOrEqual(50);
    expect(await leapfrogContainers(engine, options.runId)).toEqual([]);
  });

  it('labels each container with run, release and phase and runs the release image', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const { options } = phaseOptions(release, { phase: 'data' });
    const running = executor.run(['phase', 'sleep', '1500'], options);
    const seen = await waitForContainer(engine, options.runId);
    const result = await running;

    expect(seen.Labels).toMatchObject({
      'leapfrog.run': options.runId,
      'leapfrog.release': 'fixture',
      'leapfrog.phase': 'data',
    });
    expect(seen.Labels['leapfrog.owner']).toBe(`${hostname()}:${process.pid}`);
    expect(seen.ImageID).toBe(imageId);
    expect(seen.HostConfig.NetworkMode).toBe('host');
    expect(result.exitCode).toBe(0);
    expect(await leapfrogContainers(engine, options.runId)).toEqual([]);
  });

  it('passes the environment to the command (the database URL included)', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const secret = 'postgres://leapfrog:s3cret-pw@127.0.0.1:5432/app';
    const { lines, options } = phaseOptions(release, { env: { DATABASE_URL: secret, OS_LOG_LEVEL: 'debug' } });
    const result = await executor.run(['phase', 'env', 'DATABASE_URL', 'OS_LOG_LEVEL', 'UNSET_ONE'], options);
    expect(result.exitCode).toBe(0);
    expect(lines.map((l) => l.line)).toEqual([`DATABASE_URL=${secret}`, 'OS_LOG_LEVEL=debug', 'UNSET_ONE=(unset)']);
  });

  it('returns non-zero exit codes as results, 137 included', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    for (const code of [1, 2, 137]) {
      const { options } = phaseOptions(release);
      const result = await executor.run(['phase', 'exit', String(code)], options);
      expect(result).toMatchObject({ exitCode: code, timedOut: false, aborted: false });
      expect(result.outputTail).toEqual([`exiting with ${code}`]);
    }
  });

  it('reports 137 when the container is killed from outside mid-phase (OOM killer, docker kill)', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const { options } = phaseOptions(release, { phase: 'data' });
    const running = executor.run(['phase', 'sleep', '60000'], options);
    const seen = await waitForContainer(engine, options.runId);
    await engine.getContainer(seen.Id).kill();
    const result = await running;
    expect(result).toMatchObject({ exitCode: 137, timedOut: false, aborted: false });
    expect(await leapfrogContainers(engine, options.runId)).toEqual([]);
  });

  it('kills and removes the container when the phase times out', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const { lines, options } = phaseOptions(release, { timeoutMs: 1_000 });
    const result = await executor.run(['phase', 'sleep', '60000'], options);
    expect(result).toMatchObject({ exitCode: null, timedOut: true, aborted: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(result.durationMs).toBeLessThan(30_000);
    expect(lines.map((l) => l.line)).toEqual(['sleeping']);
    expect(await leapfrogContainers(engine, options.runId)).toEqual([]);
  });

  it('kills and removes the container on abort (SIGINT), and does not start one when already aborted', async () => {
    await using executor = createDockerExecutor({ docker: engine });
    const controller = new AbortController();
    const { options } = phaseOptions(release, { signal: controller.signal });
    const running = executor.run(['phase', 'sleep', '60000'], options);
    await waitForContainer(engine, options.runId);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: true });
    expect(await leapfrogContainers(engine, options.runId)).toEqual([]);

    const again = phaseOptions(release, { signal: controller.signal });
    const skipped = await executor.run(['phase', 'echo', 'never'], again.options);
    expect(skipped).toMatchObject({ exitCode: null, aborted: true });
    expect(again.lines).toEqual([]);
  });

  it('runs as the configured user on a read-only root filesystem with a writable /tmp', async () => {
    await using executor = createDockerExecutor({ docker: engine, user: 'node', readOnly: true });
    const who = phaseOptions(release);
    await executor.run(['phase', 'whoami'], who.options);
    expect(who.lines.map((l) => l.line)).toEqual(['uid=1000 cwd=/opt/fixture/docker-release']);
    const root = phaseOptions(release);
    await executor.run(['phase', 'write', '/opt/fixture/x'], root.options);
    expect(root.lines.map((l) => l.line)).toEqual(['cannot write /opt/fixture/x: EROFS']);
    const tmp = phaseOptions(release);
    await executor.run(['phase', 'write', '/tmp/x'], tmp.options);
    expect(tmp.lines.map((l) => l.line)).toEqual(['wrote /tmp/x']);
  });

  it('fails clearly, naming the image and the build command, when the image is missing', async () => {
    const missing = fixtureRelease({ id: 'ghost', image: `leapfrog-test/missing:${randomUUID().slice(0, 8)}` });
    const notices: string[] = [];
    await using executor = createDockerExecutor({ docker: engine, onNotice: (line) => notices.push(line) });
    const prepared = await executor.prepare([release, missing], `test-${randomUUID()}`).then(
      () => null,
      (error: unknown) => error,
    );
    expect(prepared).toBeInstanceOf(LeapfrogError);
    const error = prepared as LeapfrogError;
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(missing.image);
    expect(error.message).toContain('could not be pulled');
    expect(error.hint).toContain('leapfrog images build --release ghost');
    expect(notices.some((n) => n.includes(`${missing.image} of release ghost is not present: pulling it`))).toBe(true);

    const { options } = phaseOptions(missing, { env: { DATABASE_URL: 'postgres://u:hidden-pw@h/db' } });
    const ran = await executor.run(['phase', 'echo', 'x'], options).then(
      () => null,
      (e: unknown) => e,
    );
    expect(ran).toBeInstanceOf(LeapfrogError);
    expect((ran as LeapfrogError).message).toContain(missing.image);
    expect(JSON.stringify({ m: (ran as LeapfrogError).message, h: (ran as LeapfrogError).hint })).not.toContain(
      'hidden-pw',
    );
  });

  it('reaps leftover containers of dead leapfrog processes at prepare, and leaves live ones alone', async () => {
    const deadRun = `test-dead-${randomUUID()}`;
    const liveRun = `test-live-${randomUUID()}`;
    const make = (runId: string, owner: string) =>
      engine.createContainer({
        Image: release.image,
        Cmd: ['phase', 'sleep', '60000'],
        Labels: {
          'leapfrog.run': runId,
          'leapfrog.release': 'fixture',
          'leapfrog.phase': 'data',
          'leapfrog.owner': owner,
        },
        HostConfig: { NetworkMode: 'host' },
      });
    // pid 2^22+1 is above Linux's pid_max, so no process can own it: a killed run's leftover.
    const dead = await make(deadRun, `${hostname()}:4194305`);
    await dead.start();
    // pid 1 always exists: a concurrent run on this host, whose container must survive.
    const live = await make(liveRun, `${hostname()}:1`);
    try {
      const notices: string[] = [];
      const executor = new DockerExecutor({ docker: engine, onNotice: (line) => notices.push(line) });
      await executor.prepare([release], `test-${randomUUID()}`);
      expect(await leapfrogContainers(engine, deadRun)).toEqual([]);
      expect((await leapfrogContainers(engine, liveRun)).map((c) => c.Id)).toEqual([live.id]);
      expect(
        notices.some((n) => n.includes(`removed leftover container ${dead.id.slice(0, 12)} of run ${deadRun}`)),
      ).toBe(true);
    } finally {
      await live.remove({ force: true });
      await dead.remove({ force: true }).catch(() => undefined);
    }
  });
});
