import { BadInputError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';

export interface CatalogProblem {
  /** release.yaml as shown to people (relative to the cwd when possible), or the catalog dir. */
  file: string;
  /** Field path such as `phases.data.protocol`; empty when the problem is the whole file. */
  path: string;
  message: string;
}

export function formatProblem(problem: CatalogProblem): string {
  return problem.path === ''
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}: ${problem.path}: ${problem.message}`;
}

/**
 * Every problem of a catalog at once (exit 2): a release engineer fixing manifests one error per
 * run would need as many runs as there are mistakes.
 */
export class CatalogError extends BadInputError {
  readonly problems: readonly CatalogProblem[];

  constructor(dir: string, problems: readonly CatalogProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`the release catalog in ${dir} has ${count}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
      hint: `fix the manifests above, then check them with: ${nextCommand('releases', '--catalog', dir)}`,
      details: { catalog: dir, problems },
    });
    this.problems = problems;
  }
}
