/**
 * The `leapfrog …` commands printed in `next:` hints. Hints are built deep in the runner, the
 * backup store and the ledger, but run as printed they must carry the flags the operator gave
 * (`--catalog`, `--database-url-env`, `--backup-dir`, `--ledger-schema`, …), or they act on the
 * wrong catalog or database. The CLI registers those flags once per invocation; every hint builds
 * its command here.
 */

/** One flag the operator gave that later commands must repeat, and the verbs that accept it. */
export interface CarriedFlag {
  /** As typed on the command line, e.g. ['--catalog', 'catalogs/shop']. */
  argv: readonly string[];
  /** Verbs (first word, e.g. 'apply', 'restore', 'images') that accept the flag. */
  verbs: ReadonlySet<string>;
}

let carried: readonly CarriedFlag[] = [];

/** Called by the CLI once the invocation's flags are parsed. */
export function setCarriedFlags(flags: readonly CarriedFlag[]): void {
  carried = flags;
}

/**
 * `leapfrog <verb> <args…>` plus every carried flag that `verb` accepts, quoted for a shell. A
 * flag the hint names itself (e.g. `--catalog dir` of the catalog that failed) is not repeated.
 */
export function nextCommand(verb: string, ...args: readonly string[]): string {
  const extra = carried.filter((f) => f.verbs.has(verb) && !args.includes(f.argv[0] ?? '')).flatMap((f) => f.argv);
  return ['leapfrog', ...verb.split(' '), ...args, ...extra].map(shellWord).join(' ');
}

/**
 * Leaves plain words alone (so hints read naturally, placeholders such as `<release>` included)
 * and single-quotes anything else: a `<` or `>` outside a placeholder would be a redirection in
 * the pasted command.
 */
export function shellWord(word: string): string {
  if (/^(?:[A-Za-z0-9_@%+=:,./-]|<[a-z][a-z-]*>)+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
