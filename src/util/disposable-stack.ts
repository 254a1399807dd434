import { logger } from './logger.js';

const log = logger('cleanup');

/**
 * A small ponyfill of TC39's AsyncDisposableStack (Node 20 has `await using` through TypeScript,
 * but not the class), as changesets does. Resources are disposed in reverse order; a cleanup
 * failure never hides the first error: when the scope already failed, or an earlier cleanup
 * failed, later cleanup errors are logged (debug logger, scope "cleanup") and dropped.
 *
 *   await using stack = new AsyncDisposableStack();
 *   const lock = stack.use(await acquireLock());
 *   stack.defer(() => renderer.stop());
 */
export class AsyncDisposableStack implements AsyncDisposable {
  #disposed = false;
  readonly #cleanups: { what: string; fn: () => Promise<void> | void }[] = [];

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Registers a resource's own `[Symbol.asyncDispose]` (or `[Symbol.dispose]`); returns it. */
  use<T extends AsyncDisposable | Disposable | null | undefined>(resource: T, what = 'a resource'): T {
    if (resource === null || resource === undefined) return resource;
    const asyncDispose = (resource as Partial<AsyncDisposable>)[Symbol.asyncDispose];
    const syncDispose = (resource as Partial<Disposable>)[Symbol.dispose];
    const fn = asyncDispose ?? syncDispose;
    if (fn === undefined) throw new TypeError('AsyncDisposableStack.use: the value is not disposable');
    this.#push(what, () => fn.call(resource));
    return resource;
  }

  /** Registers a value with its own cleanup; returns the value. */
  adopt<T>(value: T, onDispose: (value: T) => Promise<void> | void, what = 'a resource'): T {
    this.#push(what, () => onDispose(value));
    return value;
  }

  /** Registers a cleanup callback. */
  defer(onDispose: () => Promise<void> | void, what = 'a cleanup'): void {
    this.#push(what, onDispose);
  }

  /** Moves every registered cleanup into a new stack (the caller now owns them). */
  move(): AsyncDisposableStack {
    const next = new AsyncDisposableStack();
    for (const c of this.#cleanups.splice(0)) next.#cleanups.push(c);
    this.#disposed = true;
    return next;
  }

  /**
   * Runs every cleanup, last registered first. Throws the first cleanup error only when
   * `alreadyFailed` is false; every other error is logged.
   */
  async disposeAsync(alreadyFailed = false): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    let first: Error | undefined;
    let failed = alreadyFailed;
    for (const { what, fn } of this.#cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        if (failed) {
          log.suppressed(`releasing ${what}`, error);
        } else {
          failed = true;
          first = error instanceof Error ? error : new Error(String(error));
        }
      }
    }
    if (first !== undefined) throw first;
  }

  /**
   * `await using`: TypeScript's helper passes no error here; when the scope's body threw and a
   * cleanup threw too, TypeScript raises a SuppressedError whose `.suppressed` is the body's
   * error (the first one) and `.error` ours. The CLI's top-level handler reports `.suppressed`
   * and logs `.error` (see `firstError`); code that must decide itself uses `disposeAsync(true)`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disposeAsync(false);
  }

  #push(what: string, fn: () => Promise<void> | void): void {
    if (this.#disposed) throw new ReferenceError('AsyncDisposableStack: already disposed');
    this.#cleanups.push({ what, fn });
  }
}

/**
 * The error a failed scope should be reported by: TypeScript's `await using` wraps a body error
 * and a later cleanup error in a SuppressedError (`.suppressed` came first). Unwraps to the first
 * and logs the cleanup errors it skips.
 */
export function firstError(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.name === 'SuppressedError') {
    const wrapped = current as Error & { error?: unknown; suppressed?: unknown };
    log.suppressed('disposing after an error', wrapped.error);
    current = wrapped.suppressed;
  }
  return current;
}
