#!/usr/bin/env node
// leapfrog's bin (dist/cli/main.js, CommonJS): loads the CLI bundle (dist/cli/leapfrog.cjs) through V8's
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
import {
  COMPILE_CACHE_REPORT,
  VENDOR_LOADER,
  type CompileCacheReport,
  type CompileCacheStatus,
  type VendorLoad,
} from './compile-cache-report.js';

const here = dirname(fileURLToPath(import.meta.url));
const verb = verbOf(process.argv.slice(2));
const cacheStem = compileCacheStem(verb);
const cacheFile = cacheStem === undefined ? undefined : `${cacheStem}.bin`;
const main = compile(join(here, 'leapfrog.cjs'), cacheFile);
const report: CompileCacheReport = {
  file: cacheFile,
  // Help and version print and exit 0 having compiled next to nothing of their verb.
  save: !process.argv.some((arg) => ['--help', '-h', '--version', '-V', 'help'].includes(arg)),
  status: main.status,
};
const globals = globalThis as Record<symbol, unknown>;
globals[COMPILE_CACHE_REPORT] = report;

// The packages only some calls need (zod, yaml, execa: manifest validation on a catalog cache
// miss, plan and fleet files, the demo's image build) are bundles of their own in vendor/, so that
// `step`, `status` and `apply` neither read nor take V8's code for their ~0.5 MB. The bundle asks
// for one through this loader (src/cli/vendor.ts), which compiles it like the CLI:
// from V8's code, kept per verb and package, written by the call that compiled it.
const vendors = new Map<string, VendorLoad>();
globals[VENDOR_LOADER] = (name: string): VendorLoad => {
  let load = vendors.get(name);
  if (load === undefined) {
    if (!/^[a-z]+$/.test(name)) throw new Error(`leapfrog: no vendor bundle named ${JSON.stringify(name)}`);
    const file = join(here, 'vendor', `${name}.cjs`);
    const cache = cacheStem === undefined ? undefined : `${cacheStem}.${name}.bin`;
    const compiled = compile(file, cache);
    load = { exports: run(compiled.script, file), status: compiled.status, file: cache };
    vendors.set(name, load);
  }
  return load;
};

run(main.script, join(here, 'leapfrog.cjs'));

// Node emits beforeExit only when nothing is left to wait for: every write, child and timer is
// done (leapfrog's ended database sessions no longer hold the process, src/pg/connect.ts). Left
// to itself, Node would now tear down the whole V8 heap page by page before exiting; exiting here
// skips that (~5-7 ms of a no-op apply) and changes nothing else: the exit code is
// process.exitCode and 'exit' listeners (the compile cache above) still run.
process.once('beforeExit', () => process.exit());

/**
 * Compiles a bundle (written inside its own CommonJS wrapper by scripts/bundle-cli.mjs) with the
 * code V8 kept in `cacheFile`. When V8 had none to take, the code this call compiles is written
 * there at a successful exit: at exit the script holds every function the call ran, which the
 * next call of this verb then skips compiling.
 */
function compile(bundle: string, cacheFile: string | undefined): { script: Script; status: CompileCacheStatus } {
  // latin1: the build checks that every bundle is pure ASCII, so this is the same text, without
  // UTF-8 validation (~4 ms less for the CLI's 0.5 MB).
  const source = readFileSync(bundle, 'latin1');
  const cachedData = cacheFile === undefined ? undefined : readOwnFile(cacheFile);
  const script = new Script(source, { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) });
  const status: CompileCacheStatus =
    cacheFile === undefined
      ? 'off'
      : cachedData === undefined
        ? 'absent'
        : script.cachedDataRejected === true
          ? 'rejected'
          : 'used';
  if (cacheFile !== undefined && status !== 'used') {
    process.once('exit', (code) => {
      if (code === 0 && report.save) saveCompileCache(cacheFile, script.createCachedData());
    });
  }
  return { script, status };
}

/** Runs a compiled bundle: it evaluates to its wrapper function, called as Node calls a module's. */
function run(script: Script, bundle: string): unknown {
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    dirname(bundle),
  );
  return module.exports;
}

/** The first word that is not an option (`--output` takes the next word as its value). */
function verbOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--output') i += 1;
    else if (!arg.startsWith('-')) return /^[a-z][a-z-]{0,31}$/.test(arg) ? arg : 'other';
  }
  return 'none';
}

/**
 * Where this call's cache files go: `<cache dir>/compile/<build>-<node>-<arch>.<verb>`, then `.bin`
 * for the CLI and `.<package>.bin` for a vendor bundle. One per verb, because a cache holds only
 * what its call compiled (a `plan` file would lack `apply`'s runner). Undefined when caching is
 * off or leapfrog runs unbuilt.
 */
function compileCacheStem(verb: string): string | undefined {
  const dir = cacheDirectory();
  const build = buildId();
  if (dir === undefined || build === undefined) return undefined;
  return join(dir, 'compile', `${cacheKey(build)}.${verb}`);
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
