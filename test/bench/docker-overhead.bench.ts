// Per-phase container overhead of the docker executor (create, attach, start, wait, remove),
// measured side by side in one run against `docker run --rm` of the same image and command from
// a shell, and against the alternative design: one container per step whose phases run with
// `docker exec`. The command itself (`phase echo`, one node start) is timed on the host too, so
// the container cost can be read apart from the command's. Interleaved, so drift hits all alike.
//   npm run bench -- docker-overhead        (LEAPFROG_BENCH_RUNS=N to change the sample size)
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import { createDockerExecutor } from '../../src/executors/docker-executor.js';
import { tryConnectDocker } from '../../src/images/docker-connection.js';
import { ensureFixtureImage } from '../helpers/docker.js';
import { fmt, median, percentile, timeIt } from './stats.js';

const run = promisify(execFile);
const runs = Number(process.env['LEAPFROG_BENCH_RUNS'] ?? 30);
const docker = await tryConnectDocker();
if (docker === null) {
  console.log('docker-overhead: no Docker Engine answers; nothing measured');
  process.exit(0);
}
const release = await ensureFixtureImage(docker);
const command = ['phase', 'echo', 'ok'];
const executor = createDockerExecutor({ docker });

// The exec design: one long-lived container per step.
const stepContainer = await docker.createContainer({
  Image: release.image,
  Cmd: ['sleep', '3600'],
  Labels: { 'leapfrog.run': `bench-${randomUUID()}`, 'leapfrog.release': release.id, 'leapfrog.phase': 'step' },
  HostConfig: { NetworkMode: 'host' },
});
await stepContainer.start();

async function viaExecutor(): Promise<void> {
  const result = await executor.run(command, {
    runId: `bench-${randomUUID()}`,
    release,
    phase: 'schema',
    env: { DATABASE_URL: 'postgres://bench@127.0.0.1/bench' },
    timeoutMs: 60_000,
    signal: new AbortController().signal,
    onLine: () => undefined,
  });
  if (result.exitCode !== 0) throw new Error(`executor run exited ${result.exitCode}`);
}

async function viaDockerCli(): Promise<void> {
  await run('docker', [
    'run',
    '--rm',
    '--network',
    'host',
    '-e',
    'DATABASE_URL=postgres://bench@127.0.0.1/bench',
    release.image as string,
    ...command,
  ]);
}

async function viaExec(): Promise<void> {
  const exec = await stepContainer.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const sink = new PassThrough().resume();
  docker?.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`exec exited ${String(info.ExitCode)}`);
}

async function onHost(): Promise<void> {
  await run(process.execPath, [join(release.dir, 'bin', 'phase'), 'echo', 'ok']);
}

const samples = { executor: [] as number[], cli: [] as number[], exec: [] as number[], host: [] as number[] };
try {
  // Warm-up: page cache, the engine's image layers, the node binary.
  for (const fn of [viaExecutor, viaDockerCli, viaExec, onHost]) await fn();
  for (let i = 0; i < runs; i++) {
    samples.executor.push(await timeIt(viaExecutor));
    samples.cli.push(await timeIt(viaDockerCli));
    samples.exec.push(await timeIt(viaExec));
    samples.host.push(await timeIt(onHost));
  }
} finally {
  await stepContainer.remove({ force: true });
}

const row = (name: string, values: number[]) =>
  `  ${name.padEnd(44)} median ${fmt(median(values)).padStart(9)}   p95 ${fmt(percentile(values, 95)).padStart(9)}`;
console.log(`docker-overhead: ${runs} runs each of \`${command.join(' ')}\` in ${release.image}, interleaved`);
console.log(row('docker executor (create/attach/start/wait/rm)', samples.executor));
console.log(row('docker run --rm (CLI, from a shell)', samples.cli));
console.log(row('docker exec in a running step container', samples.exec));
console.log(row('the command on the host (no container)', samples.host));
const ratio = median(samples.executor) / median(samples.cli);
console.log(
  `  executor / docker run --rm: median ${ratio.toFixed(2)}x, p95 ${(percentile(samples.executor, 95) / percentile(samples.cli, 95)).toFixed(2)}x (target <= 1.10x)`,
);
// Executor minus exec is the price of a fresh container per phase (the command and its image are
// the same); against the host the difference is noisier, because host and container compete
// for the same cores differently.
console.log(
  `  fresh container per phase vs exec in a step container: +${fmt(median(samples.executor) - median(samples.exec))} per phase command (medians)`,
);
console.log(
  `  executor vs the bare command on the host: ${fmt(median(samples.executor) - median(samples.host))} per phase command (medians)`,
);
