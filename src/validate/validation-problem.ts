/** The checks `leapfrog validate` runs; each becomes a JUnit test suite. */
export type ValidationCheck = 'lint' | 'graph' | 'milestones' | 'yanked' | 'down-migrations' | 'rehearse';

/** One thing a release engineer must fix, with where it is. */
export interface ValidationProblem {
  check: ValidationCheck;
  /** The manifest, migration file or plan file, as shown to people. */
  file: string;
  /** Field path, line ("line 12") or pair ("2023.1 -> 2025.1"); empty when it is the whole file. */
  where: string;
  message: string;
}

export function formatValidationProblem(p: ValidationProblem): string {
  return `[${p.check}] ${p.file}${p.where === '' ? '' : `: ${p.where}`}: ${p.message}`;
}
