export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export {
  LeapfrogError,
  BadInputError,
  RefusedError,
  StalePlanError,
  DriftError,
  LockHeldError,
  PhaseFailedError,
  CheckRedError,
  InterruptedError,
  NothingToDoError,
  type LeapfrogErrorOptions,
} from './leapfrog-error.js';
