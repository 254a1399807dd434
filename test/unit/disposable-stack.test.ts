import { afterEach, describe, expect, it } from 'vitest';
import { AsyncDisposableStack, firstError } from '../../src/util/disposable-stack.js';
import { captureDebugLog } from '../../src/util/logger.js';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

function captureCleanupLog(): string[] {
  const lines: string[] = [];
  restore = captureDebugLog((line) => lines.push(line), 'cleanup');
  return lines;
}

describe('AsyncDisposableStack', () => {
  it('disposes in reverse order of registration: use, adopt and defer alike', async () => {
    const order: string[] = [];
    {
      await using stack = new AsyncDisposableStack();
      stack.use({ [Symbol.asyncDispose]: () => Promise.resolve(void order.push('connection')) });
      stack.adopt('lock', (name) => Promise.resolve(void order.push(name)));
      stack.use({ [Symbol.dispose]: () => void order.push('sync resource') });
      stack.defer(() => void order.push('renderer'));
      expect(order).toEqual([]);
    }
    expect(order).toEqual(['renderer', 'sync resource', 'lock', 'connection']);
  });

  it('throws the first cleanup error, still runs the rest, and logs the later errors', async () => {
    const lines = captureCleanupLog();
    const order: string[] = [];
    const stack = new AsyncDisposableStack();
    stack.defer(() => {
      order.push('first registered');
      throw new Error('second failure');
    }, 'the lock');
    stack.defer(() => void order.push('middle'));
    stack.defer(() => {
      order.push('last registered');
      throw new Error('first failure');
    }, 'the connection');
    await expect(stack.disposeAsync()).rejects.toThrow('first failure');
    expect(order).toEqual(['last registered', 'middle', 'first registered']);
    expect(lines.join('')).toContain('cleanup: suppressed while releasing the lock: Error: second failure');
    expect(stack.disposed).toBe(true);
    await stack.disposeAsync(); // a second dispose does nothing
    expect(order).toHaveLength(3);
  });

  it('after a failed scope (disposeAsync(true)) every cleanup error is logged, none thrown', async () => {
    const lines = captureCleanupLog();
    const stack = new AsyncDisposableStack();
    stack.defer(() => {
      throw new Error('cleanup broke');
    }, 'the backup file');
    await expect(stack.disposeAsync(true)).resolves.toBeUndefined();
    expect(lines.join('')).toContain('suppressed while releasing the backup file: Error: cleanup broke');
  });

  it('move() hands every cleanup to a new stack; the old one is disposed and refuses more', async () => {
    const order: string[] = [];
    const first = new AsyncDisposableStack();
    first.defer(() => void order.push('a'));
    const second = first.move();
    await first.disposeAsync();
    expect(order).toEqual([]);
    expect(() => first.defer(() => undefined)).toThrow(ReferenceError);
    await second.disposeAsync();
    expect(order).toEqual(['a']);
  });

  it('use() ignores null and refuses a value that is not disposable', () => {
    const stack = new AsyncDisposableStack();
    expect(stack.use(null)).toBeNull();
    expect(() => stack.use({} as AsyncDisposable)).toThrow(TypeError);
  });
});

describe('firstError', () => {
  it('unwraps the SuppressedError of a real `await using` block to the body error and logs the cleanup error', async () => {
    const lines = captureCleanupLog();
    const body = new Error('the phase failed');
    let caught: unknown;
    try {
      await using stack = new AsyncDisposableStack();
      stack.defer(() => {
        throw new Error('the lock session was already gone');
      }, 'the lock');
      throw body;
    } catch (error) {
      caught = error;
    }
    expect(caught).not.toBe(body);
    expect((caught as Error).name).toBe('SuppressedError');
    expect(firstError(caught)).toBe(body);
    expect(lines.join('')).toContain(
      'suppressed while disposing after an error: Error: the lock session was already gone',
    );
  });

  it('unwraps nested SuppressedErrors (two resources failing after the body) to the body error', async () => {
    const body = new Error('body');
    let caught: unknown;
    try {
      await using outer = new AsyncDisposableStack();
      outer.defer(() => {
        throw new Error('outer cleanup');
      });
      await using inner = new AsyncDisposableStack();
      inner.defer(() => {
        throw new Error('inner cleanup');
      });
      throw body;
    } catch (error) {
      caught = error;
    }
    expect(firstError(caught)).toBe(body);
  });

  it('returns any other error as it is', () => {
    const plain = new Error('plain');
    expect(firstError(plain)).toBe(plain);
    expect(firstError('text')).toBe('text');
  });
});
