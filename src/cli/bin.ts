#!/usr/bin/env node
// leapfrog's bin (dist/cli/main.js): loads the CLI bundle (dist/cli/leapfrog.cjs) through V8's
// code cache. Deployment tools call `step` and `status` once per release, so most of a call's
// start-up is compiling the same JavaScript again; Node 22 has a compile cache for that
// (module.enableCompileCache), Node 20 does not, so this is that cache, kept the same way: one
// file per build, Node version and verb in leapfrog's cache directory, written by the first
// successful call and used by every later one. V8 checks each file against the source and its own
// version and flags and rejects a mismatch; a missing, foreign or rejected file only means this
// call compiles as if there were no cache (and writes a fresh one). Only node: built-ins here: this
// file runs before anything else, on every call.
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { buildId, cacheDirectory } from '../util/cache-directory.js';
import { COMPILE_CACHE_REPORT, type CompileCacheReport } from './compile-cache-report.js';

const bundle = join(dirname(fileURLToPath(import.meta.url)), 'leapfrog.cjs');
// latin1: the build checks that the bundle is pure ASCII, so this is the same text, without
// UTF-8 validation (~4 ms less for its 0.96 MB).
const source = readFileSync(bundle, 'latin1');
const cacheFile = compileCacheFile(process.argv.slice(2));
const cachedData = cacheFile === undefined ? undefined : readOwnFile(cacheFile);

// The bundle is its own CommonJS wrapper, `(function (exports, require, module, __filename,
// __dirname) {…})` (scripts/bundle-cli.mjs): compiled as read, it evaluates to that function.
const script = new Script(source, {
  filename: bundle,
  ...(cachedData === undefined ? {} : { cachedData }),
});
const report: CompileCacheReport = {
  file: cacheFile,
  // Help and version print and exit 0 having compiled next to nothing of their verb.
  save: !process.argv.some((arg) => ['--help', '-h', '--version', '-V', 'help'].includes(arg)),
  status:
    cacheFile === undefined
      ? 'off'
      : cachedData === undefined
        ? 'absent'
        : script.cachedDataRejected === true
          ? 'rejected'
          : 'used',
};
(globalThis as Record<symbol, unknown>)[COMPILE_CACHE_REPORT] = report;
if (cacheFile !== undefined && report.status !== 'used') {
  // At exit the script holds every function this call compiled: the next call of this verb skips them.
  process.once('exit', (code) => {
    if (code === 0 && report.save) saveCompileCache(cacheFile, script.createCachedData());
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports,
  createRequire(bundle),
  module,
  bundle,
  dirname(bundle),
);

/**
 * The cache file for this call: `<cache dir>/compile/<build>-<node>-<arch>.<verb>.bin`. One per
 * verb, because a cache holds only what its call compiled (a `plan` file would lack `apply`'s
 * runner). Undefined when caching is off or leapfrog runs unbuilt.
 */
function compileCacheFile(args: readonly string[]): string | undefined {
  const dir = cacheDirectory();
  const build = buildId();
  if (dir === undefined || build === undefined) return undefined;
  // The verb is the first word that is not an option (`--output` takes the next word as its value).
  let verb = 'none';
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--output') i += 1;
    else if (!arg.startsWith('-')) {
      verb = /^[a-z][a-z-]{0,31}$/.test(arg) ? arg : 'other';
      break;
    }
  }
  return join(dir, 'compile', `${cacheKey(build)}.${verb}.bin`);
}

/** What every file of this build, Node and machine starts with; anything else in the folder is stale. */
function cacheKey(build: string): string {
  return `${build}-${process.version}-${process.arch}`.replace(/[^A-Za-z0-9.+_-]/g, '_');
}

/** The file's bytes, only if this user owns it: code from a file another user could write never runs. */
function readOwnFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid())) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // no file yet, or unreadable: compile as without a cache
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes the cache atomically (a whole file or none, also with calls running side by side) in a
 * folder only this user can enter, and removes the files of other builds and Node versions so the
 * folder never grows past one file per verb. A cache that cannot be written is no error of the
 * call: it only stays uncached (said on stderr under LEAPFROG_DEBUG or --verbose).
 */
function saveCompileCache(file: string, data: Buffer): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, file);
    const key = `${cacheKey(buildId() ?? '')}.`;
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(key) && !name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
    }
  } catch (error) {
    const debug = process.env['LEAPFROG_DEBUG'] ?? '';
    if (process.argv.includes('--verbose') || !['', '0', 'false'].includes(debug)) {
      process.stderr.write(
        `leapfrog:compile-cache could not save ${file}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
  }
}
