import { ExitCode } from '../errors/exit-codes.js';
import { LeapfrogError, type LeapfrogErrorOptions } from '../errors/leapfrog-error.js';

/**
 * The run lost the ledger lock it held (the server ended its session: pg_terminate_backend, a
 * restart, a timeout). Exit 4, the lock's code: like "another run holds the lock", it means this
 * process may not write the ledger. The run stopped its phase command and recorded nothing after
 * the loss; the ledger still says where to resume.
 */
export class LockLostError extends LeapfrogError {
  constructor(message: string, options: LeapfrogErrorOptions) {
    super(message, ExitCode.locked, options);
  }
}
