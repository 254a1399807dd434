import { afterEach, describe, expect, it } from 'vitest';
import { captureDebugLog, describeError, logger } from '../../src/util/logger.js';
import { registerSecrets } from '../../src/util/secrets.js';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

function capture(enable: string): string[] {
  const lines: string[] = [];
  restore = captureDebugLog((line) => lines.push(line), enable);
  return lines;
}

describe('the debug logger', () => {
  it('is silent when off, and writes one stamped line per call when on', () => {
    const off = capture('0');
    logger('pg').debug('connecting');
    expect(logger('pg').enabled).toBe(false);
    expect(off).toEqual([]);
    restore?.();
    const on = capture('1');
    logger('pg').debug('connecting to db:5432/app');
    expect(on).toHaveLength(1);
    expect(on[0]).toMatch(/^leapfrog\[debug\] \+\d+ms pg: connecting to db:5432\/app\n$/);
  });

  it('limits output to the scopes LEAPFROG_DEBUG names; a child scope follows its parent', () => {
    const lines = capture('ledger, backup');
    logger('ledger').debug('a');
    logger('ledger').child('lock').debug('b');
    logger('executor:process').debug('c');
    logger('backup:take').debug('d');
    logger('pg').suppressed('closing', new Error('e'));
    expect(lines.map((l) => l.replace(/^.*ms /, '').trim())).toEqual(['ledger: a', 'ledger:lock: b', 'backup:take: d']);
    expect(logger('pg').enabled).toBe(false);
    expect(logger('ledger:lock').enabled).toBe(true);
  });

  it('redacts every registered secret, in messages and in suppressed errors', () => {
    const url = 'postgres://app:l0gger-pw@db.example/app';
    registerSecrets([url, 'l0gger-pw']);
    const lines = capture('all');
    const log = logger('pg');
    log.debug(`connecting to ${url}`);
    log.suppressed('closing', new Error('password authentication failed: l0gger-pw'));
    expect(lines.join('')).not.toContain('l0gger-pw');
    expect(lines[0]).toContain('connecting to ***');
    expect(lines[1]).toContain('password authentication failed: ***');
  });

  it('logs a suppressed error with its cause chain, and never throws', () => {
    const lines = capture('1');
    const root = new Error('ECONNRESET');
    const middle = new Error('the socket closed', { cause: root });
    const top = new TypeError('closing the lock session failed', { cause: middle });
    expect(() => logger('ledger').suppressed('releasing the lock', top)).not.toThrow();
    expect(lines[0]).toContain(
      'ledger: suppressed while releasing the lock: TypeError: closing the lock session failed <- Error: the socket closed <- Error: ECONNRESET',
    );
    logger('ledger').suppressed('a string', 'plain text');
    logger('ledger').suppressed('an object', { code: 42 });
    expect(lines[1]).toContain('suppressed while a string: plain text');
    expect(lines[2]).toContain('suppressed while an object: {"code":42}');
  });

  it('describeError stops after five causes (a cycle cannot hang it)', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as Error & { cause: unknown }).cause = b;
    expect(describeError(a).split(' <- ')).toHaveLength(5);
  });
});

describe('debug logger defects', () => {
  it('LEAPFROG_DEBUG may name a child scope: executor:process without executor:docker', () => {
    const lines = capture('executor:process');
    logger('executor:process').debug('spawned');
    logger('executor:docker').debug('created');
    logger('executor').debug('parent');
    expect(lines.map((l) => l.replace(/^.*ms /, '').trim())).toEqual(['executor:process: spawned']);
  });

  it('suppressed works detached from its logger (`const { suppressed } = log`, `.catch(log.suppressed)`-style)', () => {
    const lines = capture('1');
    const { suppressed, debug } = logger('pg');
    expect(() => suppressed('closing', new Error('gone'))).not.toThrow();
    expect(() => debug('plain')).not.toThrow();
    expect(lines.join('')).toContain('pg: suppressed while closing: Error: gone');
  });
});
