// Shared by the kit, blocker, online and demo integration tests: runs a release's real
// bin/leapfrog-kit (the bundled kit, as the process executor runs it) against a test database.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const REPO = resolve(import.meta.dirname, '../..');
export const RELEASES = join(REPO, 'release-images');
export const KIT_BUNDLE = join(REPO, 'dist/kit/leapfrog-kit.mjs');

export interface KitRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  progress: { migration: string; done: number; remaining: number }[];
}

export function assertKitBuilt(): void {
  if (!existsSync(KIT_BUNDLE))
    throw new Error(`${KIT_BUNDLE} is missing: run \`npm run build\` (npm test does) before these tests`);
}

/** `leapfrog-kit <args>` of `release`, from the folder `sources` (default: the repo's releases). */
export async function kit(
  release: string,
  args: string[],
  databaseUrl: string | undefined,
  sources = RELEASES,
): Promise<KitRun> {
  const dir = join(sources, release);
  const env: Record<string, string> = {
    LEAPFROG_KIT_BUNDLE: KIT_BUNDLE,
    PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`,
  };
  if (databaseUrl !== undefined) env['DATABASE_URL'] = databaseUrl;
  const result = await execa('leapfrog-kit', args, {
    cwd: dir,
    env,
    extendEnv: databaseUrl !== undefined,
    reject: false,
  });
  const progress = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"progress"'))
    .map((l) => (JSON.parse(l) as { progress: KitRun['progress'][number] }).progress);
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, progress };
}

/** Runs the data phase the way the runner does: again while it exits 1, at most `limit` times. */
export async function kitDataUntilDone(
  release: string,
  url: string,
  args: string[] = [],
  limit = 50,
): Promise<KitRun[]> {
  const runs: KitRun[] = [];
  for (let i = 0; i < limit; i += 1) {
    const run = await kit(release, ['data', ...args], url);
    runs.push(run);
    if (run.exitCode !== 1) return runs;
  }
  throw new Error(`leapfrog-kit data of ${release} still exited 1 after ${limit} runs`);
}

/** A scratch copy of the demo releases that a test may edit. */
export async function copyOfReleases(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), 'leapfrog-kit-test-'));
  await cp(RELEASES, dir, { recursive: true, filter: (src) => !src.endsWith('Dockerfile') });
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}
