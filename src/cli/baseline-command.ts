import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { BadInputError } from '../errors/index.js';
import { ledgerSchemaName } from '../ledger/ledger-schema-name.js';
import { withLockedLedger } from '../ledger/with-locked-ledger.js';
import { resolveDatabaseTarget } from '../pg/database-target.js';
import type { OutputMode } from './output-mode.js';

export interface BaselineInput {
  release: string;
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  lockTimeout: number;
  output: OutputMode;
}

/**
 * Records the release of a database leapfrog has never seen. Refuses (exit 2) when the ledger
 * already records another release: moving the release by hand would skip or repeat migrations.
 */
export async function baseline(input: BaselineInput): Promise<number> {
  const schema = ledgerSchemaName(input.ledgerSchema);
  const catalog = await loadCatalog(input.catalog);
  const release = findRelease(catalog, input.release);
  const target = resolveDatabaseTarget(input.databaseUrl);
  const status = await withLockedLedger(target, { schema, lockTimeoutMs: input.lockTimeout }, async (ledger) => {
    const current = await ledger.currentRelease();
    if (current !== null && current.release !== release.id) {
      throw new BadInputError(
        `refusing to baseline ${target.display} at ${release.id}: its ledger already records release ${current.release} (since ${current.updatedAt.toISOString()})`,
        {
          hint: 'to move forward run `leapfrog apply --to <release>`; `leapfrog status` shows where it is',
          details: { current: current.release, requested: release.id },
        },
      );
    }
    if (current !== null) return 'unchanged' as const;
    await ledger.setCurrentRelease({ release: release.id, version: release.version });
    return 'baselined' as const;
  });
  if (input.output === 'json') {
    process.stdout.write(`${JSON.stringify({ type: 'baseline', status, release: release.id, version: release.version, database: target.display, ledgerSchema: schema })}\n`);
  } else {
    process.stdout.write(
      status === 'baselined'
        ? `baselined ${target.display} at ${release.id} (${release.version}); ledger schema "${schema}"\nnext: leapfrog plan --from ${release.id} --to <release> --out plans/${release.id}-to-<release>.json\n`
        : `${target.display} is already baselined at ${release.id}; nothing changed\n`,
    );
  }
  return 0;
}
