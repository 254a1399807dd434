import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { BadInputError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import { ledgerSchemaName } from '../ledger/ledger-schema-name.js';
import { readBaseline } from '../ledger/read-baseline.js';
import { withLockedLedger } from '../ledger/with-locked-ledger.js';
import { resolveDatabaseTarget } from '../pg/database-target.js';
import { verifyBaseline, type BaselineVerification } from './baseline-verify.js';
import type { OutputMode } from '../ui/output-mode.js';
import { nextCommand } from '../util/next-command.js';

export interface BaselineInput {
  release: string;
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  lockTimeout: number;
  output: OutputMode;
  /** false with --no-verify: record without running the release's check. */
  verify: boolean;
  /** --force: replace a different recorded release (a wrong earlier baseline). */
  force: boolean;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  databaseUrlEnv?: string | undefined;
}

type Verification = BaselineVerification | { status: 'skipped' };

/**
 * Records the release of a database leapfrog has never seen, after that release's own check
 * says the database is at it. Refuses (exit 2) when the ledger already records another release
 * unless --force: moving the release by hand would skip or repeat migrations. Every refusal is
 * decided before anything is written, so a refused baseline leaves the database untouched.
 */
export async function baseline(input: BaselineInput): Promise<number> {
  const schema = ledgerSchemaName(input.ledgerSchema);
  const catalog = await loadCatalog(input.catalog);
  const release = findRelease(catalog, input.release);
  const target = resolveDatabaseTarget(input.databaseUrl);

  // With --force a damaged ledger counts as not baselined: the locked open below rebuilds it.
  const before = await readBaseline(target, schema, { repair: input.force });
  if (before !== null && before.release === release.id) {
    print(input, { status: 'unchanged', release: release.id, version: release.version, previous: null, verification: null, database: target.display, schema });
    return 0;
  }
  if (before !== null && !input.force) {
    throw new BadInputError(
      `refusing to baseline ${target.display} at ${release.id}: its ledger already records release ${before.release} (since ${before.updatedAt.toISOString()})`,
      {
        hint: `to move forward run \`${nextCommand('apply', '--to', '<release>')}\`; if ${before.release} was recorded by mistake, \`${nextCommand('baseline', '--release', release.id, '--force')}\` replaces it (after ${release.id}'s check); \`${nextCommand('status')}\` shows where it is`,
        details: { current: before.release, requested: release.id },
      },
    );
  }

  const verification: Verification = input.verify
    ? await verifyBaseline({
        catalog, release, target, executorKind: input.executorKind, databaseUrlEnv: input.databaseUrlEnv,
        ...(input.executorOptions === undefined ? {} : { executorOptions: input.executorOptions }),
      })
    : { status: 'skipped' };

  const previous = await withLockedLedger(target, { schema, lockTimeoutMs: input.lockTimeout, repair: input.force }, async (ledger) => {
    const current = await ledger.currentRelease();
    // Another command may have recorded a release while the check ran: decide again under the lock.
    if (current !== null && current.release !== before?.release && current.release !== release.id) {
      throw new BadInputError(`refusing to baseline ${target.display} at ${release.id}: release ${current.release} was recorded while its check ran`, {
        hint: `\`${nextCommand('status')}\` shows where it is and which run recorded it`,
        details: { current: current.release, requested: release.id },
      });
    }
    await ledger.setCurrentRelease({ release: release.id, version: release.version });
    return current?.release ?? null;
  });
  print(input, {
    status: previous === null || previous === release.id ? 'baselined' : 'replaced', release: release.id, version: release.version, previous,
    verification, database: target.display, schema,
  });
  return 0;
}

interface Outcome {
  status: 'baselined' | 'replaced' | 'unchanged';
  release: string;
  version: string;
  previous: string | null;
  verification: Verification | null;
  database: string;
  schema: string;
}

function print(input: BaselineInput, o: Outcome): void {
  if (input.output === 'json') {
    process.stdout.write(
      `${JSON.stringify({ type: 'baseline', status: o.status, release: o.release, version: o.version, previous: o.previous, verification: o.verification, database: o.database, ledgerSchema: o.schema })}\n`,
    );
    return;
  }
  if (o.status === 'unchanged') {
    process.stdout.write(`${o.database} is already baselined at ${o.release}; nothing changed\n`);
    return;
  }
  const lines: string[] = [];
  const v = o.verification;
  if (v?.status === 'skipped') lines.push(`not verified (--no-verify): release ${o.release}'s check was not run`);
  else if (v?.status === 'no-check') lines.push(`not verified: release ${o.release} has no check in its manifest, so nothing could confirm the database is at it`);
  else if (v !== null) {
    lines.push(`verified: release ${o.release}'s own check is ${v.status === 'green' ? 'green' : `green with a warning (${v.message ?? 'warning'})`}`);
    for (const c of v.checks) lines.push(`  ${['ok', 'warning', 'FAILURE'][c.result] ?? `result ${c.result}`}: ${c.check}${c.details === null ? '' : ` — ${c.details}`}`);
  }
  lines.push(
    o.status === 'replaced'
      ? `replaced the recorded release of ${o.database}: ${o.previous ?? '?'} -> ${o.release} (${o.version}); ledger schema "${o.schema}"`
      : `baselined ${o.database} at ${o.release} (${o.version}); ledger schema "${o.schema}"`,
  );
  lines.push(`next: ${nextCommand('plan', '--from', o.release, '--to', '<release>', '--out', `plans/${o.release}-to-<release>.json`)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
