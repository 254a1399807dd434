import type { Command } from 'commander';
import { outputModeOf, type OutputMode } from '../ui/output-mode.js';

export interface GlobalOptions {
  output: OutputMode;
}

/**
 * Wraps a verb so that it only returns an exit code (or throws a LeapfrogError for the single
 * top-level handler); no verb calls process.exit, so cleanup in finally blocks always runs.
 */
export function action<T extends object>(
  fn: (options: T & GlobalOptions, command: Command) => Promise<number | void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const raw = command.optsWithGlobals<Record<string, unknown>>();
    const options = { ...raw, output: outputModeOf(raw['output']) } as T & GlobalOptions;
    const code = await fn(options, command);
    if (typeof code === 'number') process.exitCode = code;
  };
}
