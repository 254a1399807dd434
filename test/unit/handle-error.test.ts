import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleError } from '../../src/cli/handle-error.js';
import { durationArgument } from '../../src/cli/common-options.js';
import { BadInputError, LockHeldError } from '../../src/errors/index.js';
import { databaseTargetFromUrl, registerEnvironmentSecrets } from '../../src/pg/database-target.js';

/** A small program shaped like leapfrog's: exitOverride, a verb with a required option and a duration flag. */
function program(): Command {
  const root = new Command('leapfrog')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  root.option('--output <mode>');
  root
    .command('apply')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .requiredOption('--plan <file>')
    .option('--lock-timeout <duration>', '', durationArgument)
    .action(() => undefined);
  return root;
}

async function usageError(argv: string[]): Promise<CommanderError> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

function captureStdout(): { lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  return {
    lines: () =>
      written
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('handleError with a commander usage error', () => {
  it.each([
    [
      ['--output', 'json', 'apply', '--plan', 'p.json', '--bogus'],
      /unknown option '--bogus'/,
      'run leapfrog apply --help',
    ],
    [
      ['--output', 'json', 'apply', '--plan', 'p.json', '--lock-timeout', 'abc'],
      /"abc" is not a duration/,
      'run leapfrog apply --help',
    ],
    [
      ['--output', 'json', 'apply', '--plan', 'p.json', '--lock-timeout', '720h'],
      /"720h" is longer than leapfrog takes \(at most 596h \(24\.8 days\)\)/,
      'run leapfrog apply --help',
    ],
    [['--output', 'json', 'apply'], /required option '--plan <file>' not specified/, 'run leapfrog apply --help'],
    [['--output', 'json', 'aply'], /unknown command 'aply'/, 'run leapfrog --help'],
  ])('prints a final UsageError line on stdout in json mode (%j)', async (args, message, hint) => {
    const argv = ['node', 'main.js', ...args];
    const error = await usageError(argv);
    const out = captureStdout();
    expect(handleError(error, 'json', argv)).toBe(2);
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'error', exitCode: 2, error: 'UsageError', hint });
    expect(String(lines[0]?.['message'])).toMatch(message);
  });

  it('leaves stdout empty in text mode (commander printed the error on stderr already)', async () => {
    const argv = ['node', 'main.js', 'apply', '--bogus'];
    const error = await usageError(argv);
    const out = captureStdout();
    expect(handleError(error, 'text', argv)).toBe(2);
    expect(out.lines()).toEqual([]);
  });

  it('treats help as success and prints nothing', async () => {
    const error = await usageError(['node', 'main.js', 'apply', '--help']);
    const out = captureStdout();
    expect(handleError(error, 'json', [])).toBe(0);
    expect(out.lines()).toEqual([]);
  });
});

describe('handleError redacts the secrets registered by whoever resolved a database URL', () => {
  function captureStderr(): { text: () => string } {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    return { text: () => written.join('') };
  }

  it('a URL resolved as a target (not on argv, not in the environment) never appears', () => {
    const url = 'postgres://app:s3cr%40tpw@db.example:5432/orders';
    databaseTargetFromUrl(url);
    const err = captureStderr();
    const code = handleError(
      new Error(`pg said: cannot reach ${url} (password s3cr@tpw, encoded s3cr%40tpw)`),
      'text',
      ['node', 'main.js', 'status'],
    );
    expect(code).toBe(1);
    expect(err.text()).toContain('cannot reach ***');
    expect(err.text()).not.toContain('s3cr');
  });

  it('DATABASE_URL and PGPASSWORD registered at CLI start are redacted before any target is resolved', () => {
    registerEnvironmentSecrets({ DATABASE_URL: 'postgres://u:envpassw0rd@h/db', PGPASSWORD: 'pgpassw0rd' });
    const out = captureStdout();
    const error = new BadInputError('bad catalog near postgres://u:envpassw0rd@h/db and pgpassw0rd', {
      hint: 'fix envpassw0rd',
      details: { url: 'postgres://u:envpassw0rd@h/db' },
    });
    expect(handleError(error, 'json', ['node', 'main.js', 'plan'])).toBe(2);
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('envpassw0rd');
    expect(text).not.toContain('pgpassw0rd');
    expect(text).toContain('***');
  });

  it('a scratch URL, a value that is not even a URL, is still a secret', () => {
    expect(() => databaseTargetFromUrl('not a url: hunter2hunter2')).toThrow(BadInputError);
    const err = captureStderr();
    handleError(new Error('echo not a url: hunter2hunter2'), 'text', ['node', 'main.js']);
    expect(err.text()).not.toContain('hunter2hunter2');
  });
});

describe('handleError with a SuppressedError from `await using`', () => {
  it('reports the first error (the scope body), with its exit code, not the cleanup error that followed it', () => {
    const first = new LockHeldError('another run holds the ledger lock on db', { hint: 'wait for it' });
    const cleanup = new Error('closing the ledger session: connection terminated');
    // What TypeScript's `await using` helper throws when the body and a disposal both fail.
    const suppressed = Object.assign(new Error('An error was suppressed during disposal.'), {
      name: 'SuppressedError',
      error: cleanup,
      suppressed: first,
    });
    const out = captureStdout();
    expect(handleError(suppressed, 'json', [])).toBe(4);
    expect(out.lines()[0]).toMatchObject({
      type: 'error',
      exitCode: 4,
      error: 'LockHeldError',
      message: 'another run holds the ledger lock on db',
    });
  });
});
