// Issue 9, item 7: `next:` hints repeat the flags the operator gave, and only to verbs that
// accept them; `--output=json` counts as much as `--output json`.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { carriedFlagsOf } from '../../src/cli/carried-flags.js';
import { outputModeOfArgv } from '../../src/ui/output-mode.js';
import { registerVerbs } from '../../src/cli/verbs.js';
import { nextCommand, setCarriedFlags, shellWord } from '../../src/util/next-command.js';

function leapfrogProgram(): Command {
  const program = new Command('leapfrog').option('--output <mode>');
  registerVerbs(program);
  return program;
}

function carry(args: string[], env: NodeJS.ProcessEnv = {}): void {
  setCarriedFlags(carriedFlagsOf(leapfrogProgram(), ['node', 'leapfrog', ...args], env));
}

afterEach(() => setCarriedFlags([]));

describe('carried flags', () => {
  it('repeats --catalog, --ledger-schema and --database-url-env on the verbs that take them', () => {
    carry([
      'apply',
      '--to',
      '2025.1',
      '--catalog',
      'cat dir',
      '--ledger-schema=lf',
      '--database-url-env',
      'APP_URL',
      '--yes-not-a-flag',
    ]);
    expect(nextCommand('apply', '--to', '2025.1')).toBe(
      "leapfrog apply --to 2025.1 --catalog 'cat dir' --ledger-schema lf --database-url-env APP_URL",
    );
    expect(nextCommand('status')).toBe("leapfrog status --catalog 'cat dir' --ledger-schema lf");
    // `releases` takes a catalog but no database; `backups` neither of the others.
    expect(nextCommand('releases')).toBe("leapfrog releases --catalog 'cat dir'");
    expect(nextCommand('images build', '--release', '2024.1')).toBe(
      "leapfrog images build --release 2024.1 --catalog 'cat dir'",
    );
  });

  it('does not repeat a flag the hint names itself', () => {
    carry(['plan', '--catalog', 'a']);
    expect(nextCommand('releases', '--catalog', 'b')).toBe('leapfrog releases --catalog b');
  });

  it('never prints a --database-url: the same one as $DATABASE_URL is left out, another is a placeholder', () => {
    carry(['status', '--database-url', 'postgres://u:pw@h/db'], { DATABASE_URL: 'postgres://u:pw@h/db' });
    expect(nextCommand('status')).toBe('leapfrog status');
    carry(['status', '--database-url=postgres://u:pw@h/other'], { DATABASE_URL: 'postgres://u:pw@h/db' });
    expect(nextCommand('status')).toBe('leapfrog status --database-url <url>');
    expect(nextCommand('status')).not.toContain('pw');
  });

  it('carries docker flags and the executor only to verbs that run phase commands', () => {
    carry(['apply', '--executor', 'docker', '--docker-read-only', '--docker-network', 'bridge']);
    expect(nextCommand('apply', '--to', 'x')).toBe(
      'leapfrog apply --to x --executor docker --docker-read-only --docker-network bridge',
    );
    expect(nextCommand('status')).toBe('leapfrog status');
  });
});

describe('shellWord', () => {
  it('leaves words and <placeholders> alone, and quotes a < or > that a shell would take as a redirection', () => {
    expect(shellWord('plans/0.11.4-to-<release>.json')).toBe('plans/0.11.4-to-<release>.json');
    expect(shellWord('<url>')).toBe('<url>');
    expect(shellWord('a>b')).toBe("'a>b'");
    expect(shellWord('<b')).toBe("'<b'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
  });
});

describe('outputModeOfArgv', () => {
  it('reads --output json and --output=json, the last one winning, nothing after --', () => {
    expect(outputModeOfArgv(['node', 'lf', 'plan', '--output=json'])).toBe('json');
    expect(outputModeOfArgv(['node', 'lf', '--output', 'json', 'plan'])).toBe('json');
    expect(outputModeOfArgv(['node', 'lf', '--output=json', 'plan', '--output', 'text'])).toBe('text');
    expect(outputModeOfArgv(['node', 'lf', 'plan', '--', '--output=json'])).toBe('text');
    expect(outputModeOfArgv(['node', 'lf', 'plan'])).toBe('text');
  });
});
