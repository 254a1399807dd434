/**
 * What the bin (src/cli/bin.ts) did with the compile cache, handed to the CLI it loads so that
 * `--verbose` can say it with the other side effects. A global, because the bin and the bundle are
 * two separate builds that share no module instance.
 */
export const COMPILE_CACHE_REPORT = Symbol.for('leapfrog.compileCache');

export interface CompileCacheReport {
  /** The cache file of this call; undefined when caching is off (LEAPFROG_CACHE_DIR=off, no home). */
  file: string | undefined;
  /** used: V8 took the compiled code; absent, rejected: compiled anew, written at a successful exit. */
  status: 'off' | 'absent' | 'rejected' | 'used';
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
  if (bin === undefined) return null;
  switch (bin.status) {
    case 'off':
      return 'compile cache off (no cache directory: LEAPFROG_CACHE_DIR=off, or neither XDG_CACHE_HOME nor HOME set)';
    case 'used':
      return `compile cache used: ${bin.file ?? ''}`;
    case 'absent':
      return `compile cache absent: compiling, ${bin.file ?? ''} is written if this call succeeds`;
    case 'rejected':
      return `compile cache rejected by V8 (another Node or flags): compiling, ${bin.file ?? ''} is rewritten if this call succeeds`;
  }
}
