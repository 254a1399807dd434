export type OutputMode = 'text' | 'json';

/** `--output json` is for tools: JSON lines on stdout, one final summary, nothing else there. */
export function outputModeOf(value: unknown): OutputMode {
  return value === 'json' ? 'json' : 'text';
}

/**
 * The output mode straight from the command line, for the one moment commander's parse cannot
 * be trusted: a usage error (or any error) that reaches the top-level handler. Reads both
 * spellings commander accepts, `--output json` and `--output=json`; the last one wins, and
 * nothing after `--` is an option.
 */
export function outputModeOfArgv(argv: readonly string[]): OutputMode {
  let mode: OutputMode = 'text';
  const words = argv.slice(2);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '--') break;
    if (word === '--output') mode = outputModeOf(words[++i]);
    else if (word.startsWith('--output=')) mode = outputModeOf(word.slice('--output='.length));
  }
  return mode;
}
