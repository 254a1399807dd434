import { CommanderError } from 'commander';
import { ExitCode, LeapfrogError } from '../errors/index.js';
import type { OutputMode } from '../ui/output-mode.js';
import { firstError } from '../util/disposable-stack.js';
import { redactKnown } from '../util/secrets.js';

/**
 * The one top-level error handler: every verb throws, this prints and chooses the exit code.
 * Text goes to stderr so that stdout stays clean for pipes; with `--output json` the error is
 * the final JSON line on stdout, as tools expect one summary line. Everything it prints passes
 * through the secrets registered by whoever resolved a database URL (src/util/secrets.ts).
 */
export function handleError(thrown: unknown, mode: OutputMode, argv: readonly string[] = process.argv): number {
  // `await using` wraps a failure and a later cleanup failure in a SuppressedError: report the
  // first (the cleanup's is logged by firstError, with --verbose).
  const error = firstError(thrown);
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander only because exitOverride is on.
    if (error.exitCode === 0) return ExitCode.ok;
    // Commander has already printed its text on stderr; tools reading stdout still need the
    // final error line every other failure gives them.
    if (mode === 'json') {
      const verb = error.code === 'commander.unknownCommand' ? undefined : verbOf(argv);
      const message = redactKnown(error.message.replace(/^error: /, ''));
      process.stdout.write(
        `${JSON.stringify({ type: 'error', exitCode: ExitCode.badInput, error: 'UsageError', message, hint: `run leapfrog ${verb === undefined ? '' : `${verb} `}--help`, details: { code: error.code } })}\n`,
      );
    }
    return ExitCode.badInput;
  }
  if (error instanceof LeapfrogError) {
    const message = redactKnown(error.message);
    const hint = redactKnown(error.hint);
    if (mode === 'json') {
      const details = JSON.parse(redactKnown(JSON.stringify(error.details))) as unknown;
      process.stdout.write(
        `${JSON.stringify({ type: 'error', exitCode: error.exitCode, error: error.name, message, hint, details })}\n`,
      );
    } else if (error.exitCode === ExitCode.ok) {
      process.stderr.write(`${message}\n  next: ${hint}\n`);
    } else {
      process.stderr.write(`leapfrog: ${message}\n  next: ${hint}\n`);
    }
    return error.exitCode;
  }
  const text = redactKnown(error instanceof Error ? (error.stack ?? error.message) : String(error));
  if (mode === 'json') {
    process.stdout.write(`${JSON.stringify({ type: 'error', exitCode: 1, error: 'InternalError', message: text })}\n`);
  } else {
    process.stderr.write(`leapfrog: unexpected error (a bug in leapfrog; please report it):\n${text}\n`);
  }
  return ExitCode.phaseFailed;
}

/** The verb of a command line: its first word that is neither an option nor the value of `--output`. */
function verbOf(argv: readonly string[]): string | undefined {
  const words = argv.slice(2);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '--output') {
      i++;
      continue;
    }
    if (!word.startsWith('-')) return word;
  }
  return undefined;
}
