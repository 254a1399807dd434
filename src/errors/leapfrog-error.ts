import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export interface LeapfrogErrorOptions {
  /** The way out: the next command or action for the operator. Every error ends with one. */
  hint: string;
  cause?: unknown;
  /** Structured facts for `--output json` (never secrets). */
  details?: Record<string, unknown>;
}

/**
 * Base of every error leapfrog expects. The CLI's single top-level handler prints `message`,
 * then `hint`, and exits with `exitCode`; anything that is not a LeapfrogError is a bug.
 */
export class LeapfrogError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(message: string, exitCode: ExitCodeValue, options: LeapfrogErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

/** Bad usage or bad input (manifest, plan, flags): nothing ran. Exit 2. */
export class BadInputError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.badInput, options);
  }
}

/** Refused: a downgrade or an unsupported path. Exit 5. */
export class RefusedError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.refused, options);
  }
}

/** The plan no longer matches the catalog, an image or the database. Exit 6. */
export class StalePlanError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.stalePlan, options);
  }
}

/**
 * The database is not where the ledger says: the application's own version (`appVersion`) names
 * another release, or a toolchain no longer matches its manifest. Nothing ran. Exit 6.
 */
export class DriftError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.stalePlan, options);
  }
}

/** Another run holds the ledger lock. Exit 4. */
export class LockHeldError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.locked, options);
  }
}

/** A phase command failed, timed out, or data migrations stalled. Exit 1. */
export class PhaseFailedError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.phaseFailed, options);
  }
}

/** The green-light check is red: the step did not advance. Exit 3. */
export class CheckRedError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.checkRed, options);
  }
}

/** SIGINT/SIGTERM: the ledger says where to resume. Exit 130. */
export class InterruptedError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.interrupted, options);
  }
}

/** Nothing to do (same release): not a failure, exit 0, but it ends the verb early. */
export class NothingToDoError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.ok, options);
  }
}
