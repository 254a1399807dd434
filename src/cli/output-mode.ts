export type OutputMode = 'text' | 'json';

/** `--output json` is for tools: JSON lines on stdout, one final summary, nothing else there. */
export function outputModeOf(value: unknown): OutputMode {
  return value === 'json' ? 'json' : 'text';
}
