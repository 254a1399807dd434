/**
 * An error the kit expects: printed as its message plus the way out, then the command exits with
 * the code its protocol gives a failure. Anything else escaping the kit is a bug.
 */
export class KitError extends Error {
  readonly hint: string;

  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad flags or a broken release folder: nothing ran. Each command maps it to its protocol's code. */
export class KitUsageError extends KitError {}
