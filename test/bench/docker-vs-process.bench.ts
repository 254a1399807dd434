// The demo path 2023.1 -> 2025.1 at 100,000 orders, walked by the built CLI (`leapfrog demo`)
// with the process executor and with the docker executor, interleaved in one run: the total
// wall time of the upgrade (seeding excluded) and the docker/process ratio.
//   npm run bench -- docker-vs-process     (LEAPFROG_BENCH_ROWS, LEAPFROG_BENCH_ROUNDS to change)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { tryConnectDocker } from '../../src/images/docker-connection.js';
import { ensureDemoImages, watchContainers } from '../helpers/docker.js';
import { fmt, median } from './stats.js';

const rows = Number(process.env['LEAPFROG_BENCH_ROWS'] ?? 100_000);
const rounds = Number(process.env['LEAPFROG_BENCH_ROUNDS'] ?? 3);
const docker = await tryConnectDocker();
if (docker === null) {
  console.log('docker-vs-process: no Docker Engine answers; nothing measured');
  process.exit(0);
}
await ensureDemoImages(docker);

interface DemoSummaryLine {
  type: string;
  ok: boolean;
  summary: {
    durationMs: number;
    rowsMigrated: number;
    phases: { release: string; phase: string; durationMs: number }[];
  };
}

async function demo(executor: 'process' | 'docker'): Promise<DemoSummaryLine> {
  const { stdout: out } = await promisify(execFile)(
    process.execPath,
    [join('dist', 'cli', 'main.js'), 'demo', '--rows', String(rows), '--executor', executor, '--output', 'json'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const line = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as DemoSummaryLine)
    .find((l) => l.type === 'demo-summary');
  if (line === undefined || !line.ok) throw new Error(`the ${executor} demo did not end green`);
  return line;
}

const times = { process: [] as number[], docker: [] as number[] };
let phaseCount = 0;
// Containers the docker rounds created: one per phase command, data batches included.
let containers = 0;
for (let round = 0; round < rounds; round++) {
  for (const executor of ['process', 'docker'] as const) {
    const watch = executor === 'docker' ? await watchContainers(docker) : null;
    const line = await demo(executor);
    watch?.stop();
    if (watch !== null) containers = watch.seen.length;
    times[executor].push(line.summary.durationMs);
    phaseCount = line.summary.phases.length;
    console.log(
      `  round ${round + 1} ${executor.padEnd(7)} upgrade ${fmt(line.summary.durationMs)} (${line.summary.rowsMigrated.toLocaleString('en-US')} rows, ${line.summary.phases.length} phases)`,
    );
  }
}
const p = median(times.process);
const d = median(times.docker);
// Paired per round (process then docker back to back), so load that drifts between rounds
// cancels out of the ratio better than in the ratio of medians.
const ratios = times.docker.map((t, i) => t / (times.process[i] ?? Number.NaN));
const delta = d - p;
console.log(
  `docker-vs-process: demo path 2023.1 -> 2025.1 at ${rows.toLocaleString('en-US')} orders, ${rounds} rounds interleaved`,
);
console.log(`  process executor  median ${fmt(p)}`);
console.log(`  docker executor   median ${fmt(d)}`);
console.log(
  `  docker / process  ${(d / p).toFixed(2)}x (ratio of medians); per round ${ratios.map((r) => r.toFixed(2)).join(', ')}; median of rounds ${median(ratios).toFixed(2)}x`,
);
console.log(
  `  difference        ${delta >= 0 ? '+' : '-'}${fmt(Math.abs(delta))} over ${phaseCount} phases, ${containers} containers (${fmt(delta / Math.max(1, containers))} per phase command)`,
);
