import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { action } from './action.js';

// PLACEHOLDER until its issue lands: the verb exists so that --help lists it.
export function register(program: Command): void {
  program
    .command('demo')
    .description('(not yet available)')
    .action(
      action(() => {
        return Promise.reject(new BadInputError('`leapfrog demo` is not available yet', { hint: 'see the README for the verbs that are' }));
      }),
    );
}
