import { CommanderError } from 'commander';
import { ExitCode, LeapfrogError } from '../errors/index.js';
import { redact } from '../pg/redact.js';
import type { OutputMode } from '../ui/output-mode.js';
import { knownSecrets } from './secrets.js';
import { firstError } from '../util/disposable-stack.js';

/**
 * The one top-level error handler: every verb throws, this prints and chooses the exit code.
 * Text goes to stderr so that stdout stays clean for pipes; with `--output json` the error is
 * the final JSON line on stdout, as tools expect one summary line.
 */
export function handleError(thrown: unknown, mode: OutputMode, argv: readonly string[] = process.argv): number {
  const secrets = knownSecrets();
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
      const message = redact(error.message.replace(/^error: /, ''), secrets);
      process.stdout.write(
        `${JSON.stringify({ type: 'error', exitCode: ExitCode.badInput, error: 'UsageError', message, hint: `run leapfrog ${verb === undefined ? '' : `${verb} `}--help`, details: { code: error.code } })}\n`,
      );
    }
    return ExitCode.badInput;
  }
  if (error instanceof LeapfrogError) {
    const message = redact(error.message, secrets);
    const hint = redact(error.hint, secrets);
    if (mode === 'json') {
      const details = JSON.parse(redact(JSON.stringify(error.details), secrets)) as unknown;
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
  const text = redact(error instanceof Error ? (error.stack ?? error.message) : String(error), secrets);
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
