/**
 * The CLI exit codes of DESIGN.md. Deployment tools branch on these numbers, so they are a
 * contract: never renumber one.
 */
export const ExitCode = {
  ok: 0,
  phaseFailed: 1,
  badInput: 2,
  checkRed: 3,
  locked: 4,
  refused: 5,
  stalePlan: 6,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
