import type { Command } from 'commander';
import type { CarriedFlag } from '../util/next-command.js';

/**
 * The flags that say *where* and *how* leapfrog works — which catalog, which ledger schema,
 * which backup folder, which executor — and so must be repeated by every `next:` command, or the
 * printed command acts on another catalog or database. Flags that say *what* to do (`--to`,
 * `--plan`, `--yes`, `--force`) are the hint's own business and are never carried.
 */
const CARRIED = [
  '--catalog',
  '--database-url',
  '--database-url-env',
  '--ledger-schema',
  '--backup-dir',
  '--pg-bin',
  '--executor',
  '--docker-network',
  '--docker-user',
  '--docker-read-only',
  '--docker-socket',
  '--lock-timeout',
] as const;

/**
 * What a hint says in place of a `--database-url` the operator typed: the URL is a secret and
 * never printed. Left as is, the shell refuses the command (a redirection without a file), so
 * a hint copied blindly cannot act on whatever DATABASE_URL happens to say instead.
 */
export const DATABASE_URL_PLACEHOLDER = '<url>';

/**
 * The carried flags of this invocation, as typed (`--catalog x` or `--catalog=x`), each with the
 * verbs that accept it — read from the commander definitions, so a new verb or flag needs no
 * table here. A `--database-url` equal to $DATABASE_URL is left out (the environment gives the
 * same database); any other becomes `--database-url <url>`.
 */
export function carriedFlagsOf(
  program: Command,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): CarriedFlag[] {
  const accepting = verbsByFlag(program);
  const flags: CarriedFlag[] = [];
  for (const given of givenFlags(argv, accepting)) {
    const verbs = accepting.get(given.flag)?.verbs;
    if (verbs === undefined) continue;
    if (given.flag === '--database-url') {
      if (given.value !== undefined && given.value === env['DATABASE_URL']) continue;
      flags.push({ argv: ['--database-url', DATABASE_URL_PLACEHOLDER], verbs });
      continue;
    }
    flags.push({ argv: given.value === undefined ? [given.flag] : [given.flag, given.value], verbs });
  }
  return flags;
}

interface Accepting {
  verbs: Set<string>;
  takesValue: boolean;
}

/** For each carried flag: the verbs ('apply', 'images build', and 'images' when all its subverbs do) that define it. */
function verbsByFlag(program: Command): Map<string, Accepting> {
  const byFlag = new Map<string, Accepting>();
  const visit = (command: Command, path: readonly string[]) => {
    const verb = [...path, command.name()].join(' ');
    for (const option of command.options) {
      if (option.long === undefined || !(CARRIED as readonly string[]).includes(option.long)) continue;
      const entry = byFlag.get(option.long) ?? {
        verbs: new Set<string>(),
        takesValue: option.required || option.optional,
      };
      entry.verbs.add(verb);
      byFlag.set(option.long, entry);
    }
    for (const sub of command.commands) visit(sub, [...path, command.name()]);
    // `nextCommand('images', 'build')` names the group: it gets what every subverb accepts.
    if (path.length === 0 && command.commands.length > 0) {
      for (const entry of byFlag.values()) {
        if (command.commands.every((sub) => entry.verbs.has(`${verb} ${sub.name()}`))) entry.verbs.add(verb);
      }
    }
  };
  for (const command of program.commands) visit(command, []);
  return byFlag;
}

/** The carried flags on the command line, last occurrence winning, in the order first given. */
function givenFlags(
  argv: readonly string[],
  accepting: ReadonlyMap<string, Accepting>,
): { flag: string; value: string | undefined }[] {
  const given = new Map<string, string | undefined>();
  const words = argv.slice(2);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '--') break;
    const eq = word.indexOf('=');
    const flag = word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word;
    const entry = accepting.get(flag);
    if (entry === undefined) continue;
    if (!entry.takesValue) given.set(flag, undefined);
    else if (eq > 0 && flag !== word) given.set(flag, word.slice(eq + 1));
    else given.set(flag, words[++i]);
  }
  return [...given].map(([flag, value]) => ({ flag, value }));
}
