/**
 * What the bin (src/cli/bin.ts) did with the compile cache, handed to the CLI it loads so that
 * `--verbose` can say it with the other side effects. A global, because the bin and the bundle are
 * two separate builds that share no module instance.
 */
export const COMPILE_CACHE_REPORT = Symbol.for('leapfrog.compileCache');

/** The bin's loader of a vendor bundle (dist/cli/vendor/<name>.cjs), for loadVendor (src/cli/vendor.ts). */
export const VENDOR_LOADER = Symbol.for('leapfrog.vendor');

/** used: V8 took the compiled code; absent, rejected: compiled anew, written at a successful exit. */
export type CompileCacheStatus = 'off' | 'absent' | 'rejected' | 'used';

export interface VendorLoad {
  exports: unknown;
  status: CompileCacheStatus;
  file: string | undefined;
}

export interface CompileCacheReport {
  /** The cache file of this call; undefined when caching is off (LEAPFROG_CACHE_DIR=off, no home). */
  file: string | undefined;
  status: CompileCacheStatus;
  /**
   * Whether this call, if it succeeds, is worth keeping as the verb's cache. A cache holds only
   * what its call compiled and is not rewritten while V8 accepts it, so a call that did little of
   * its verb's work (`step` with nothing to do) must not seed it.
   */
  save: boolean;
}

/** The bin's report; undefined when the CLI was not started by the bin (tests, tsx). */
function report(): CompileCacheReport | undefined {
  return (globalThis as Record<symbol, unknown>)[COMPILE_CACHE_REPORT] as CompileCacheReport | undefined;
}

/** This call did little of its verb's usual work: do not keep what it compiled as the verb's cache. */
export function notRepresentativeForCompileCache(): void {
  const bin = report();
  if (bin !== undefined) bin.save = false;
}

/** A line for the debug log; null when the CLI was not started by the bin (tests, tsx). */
export function compileCacheLine(): string | null {
  const bin = report();
  return bin === undefined ? null : cacheLine('compile cache', bin.status, bin.file);
}

function cacheLine(what: string, status: CompileCacheStatus, file: string | undefined): string {
  switch (status) {
    case 'off':
      return `${what} off (no cache directory: LEAPFROG_CACHE_DIR=off, or neither XDG_CACHE_HOME nor HOME set)`;
    case 'used':
      return `${what} used: ${file ?? ''}`;
    case 'absent':
      return `${what} absent: compiling, ${file ?? ''} is written if this call succeeds`;
    case 'rejected':
      return `${what} rejected by V8 (another Node or flags): compiling, ${file ?? ''} is rewritten if this call succeeds`;
  }
}

/**
 * The bin's load of a vendor bundle (its exports, and a debug line saying what the compile cache
 * did); undefined when the CLI was not started by the bin.
 */
export function vendorFromBin(name: string): { exports: unknown; line: string } | undefined {
  const loader = (globalThis as Record<symbol, unknown>)[VENDOR_LOADER] as ((name: string) => VendorLoad) | undefined;
  if (loader === undefined) return undefined;
  const load = loader(name);
  return { exports: load.exports, line: cacheLine(`${name}: compile cache`, load.status, load.file) };
}
