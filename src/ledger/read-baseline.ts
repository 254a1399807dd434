import type { DatabaseTarget } from '../pg/database-target.js';
import type { LedgerState } from './ledger.js';
import { LedgerSession } from './open-ledger.js';
import { BadInputError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';

/**
 * THE "not baselined" refusal (exit 2), for every verb that needs a recorded release: step,
 * apply (and so rehearse, demo, validate --rehearse) and the runner itself. `at` is the release
 * the hint suggests (the plan's `from` when known).
 */
export function notBaselinedError(
  schema: string,
  at: string = '<the release it is at now>',
  display?: string,
): BadInputError {
  const which = display === undefined ? 'the database' : `the database ${display}`;
  return new BadInputError(
    `${which} has no leapfrog ledger release yet (schema "${schema}"), so there is nothing to plan from; nothing was changed`,
    {
      hint: `adopt it first: \`${nextCommand('baseline', '--release', at)}\` (the release it is at now)`,
    },
  );
}

/**
 * The database's recorded release without writing anything: null when there is no ledger schema
 * yet or it records no release. Refusals ("not baselined") are decided from this before any run
 * creates the ledger, so that a refused command leaves the database exactly as it found it.
 * A damaged ledger is refused (exit 2), except with `repair` (`baseline --force`), where it
 * counts as not baselined: what it records cannot be trusted, and the baseline rebuilds it.
 */
export async function readBaseline(
  target: DatabaseTarget,
  schema: string,
  options: { repair?: boolean } = {},
): Promise<LedgerState | null> {
  await using session = await LedgerSession.open(target, schema, { repair: options.repair === true });
  return session.reading.current;
}
