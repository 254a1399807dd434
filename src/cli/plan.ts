import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { databaseTargetGiven, resolveDatabaseTarget } from '../pg/database-target.js';
import type { Plan } from '../planner/plan.js';
import { action } from './action.js';
import { withCatalog, withDatabase } from './common-options.js';
import { nextCommand } from '../util/next-command.js';

interface PlanOptions {
  catalog: string;
  from?: string;
  to?: string;
  out?: string;
  brief?: boolean;
  fleet?: string;
  databaseUrl?: string;
  ledgerSchema: string;
}

export function register(program: Command): void {
  withDatabase(
    withCatalog(
      program
        .command('plan')
        .description(
          'compute the path of releases from --from (or where the database is) to --to, and list what each stop runs; --out saves it for apply',
        )
        .option(
          '--from <release>',
          "the release the database is at (id such as 2023.1, or its version); default: read from the database's ledger",
        )
        .option('--to <release>', 'the release to upgrade to')
        .option('--out <file>', 'write the plan file (planVersion 1, digests pinned), e.g. plans/2023.1-to-2025.1.json')
        .option('--brief', 'only the path and its reasons, without the commands and checks of each stop')
        .option('--fleet <file>', "each target's path from its ledger and the fleet's order, as a tree (needs --to)")
        .addHelpText(
          'after',
          '\nWith --from the database is never contacted, even when DATABASE_URL is set. Without --from, the\nledger of --database-url (or DATABASE_URL, PG*) says where to start: read-only, no lock.\n\nExamples:\n  leapfrog plan --from 2023.1 --to 2025.1\n  leapfrog plan --to 2025.1 --database-url postgres://app@db/shop\n  leapfrog plan --from 2023.1 --to 2025.1 --out plans/2023.1-to-2025.1.json\n  leapfrog plan --from 2023.1 --to 2025.1 --output json',
        ),
    ),
  ).action(
    action<PlanOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).planFleetVerb({ ...options, fleet: options.fleet });
      if (options.to === undefined) {
        throw new BadInputError('--to is required: the release to upgrade to', {
          hint: `${nextCommand('plan', '--from', '<release>', '--to', '<release>')} (list the ids with: ${nextCommand('releases')})`,
        });
      }
      // --from wins: a plan for another database is made without touching the one in DATABASE_URL.
      let from = options.from;
      let fromDatabase: string | undefined;
      if (from === undefined) {
        if (!databaseTargetGiven(options.databaseUrl)) {
          throw new BadInputError('--from is required when no database is given: the release the database is at', {
            hint: `${nextCommand('plan', '--from', '<release>', '--to', '<release>')} (list the ids with: ${nextCommand('releases')}), or let the database say: ${nextCommand('plan', '--to', options.to, '--database-url', '<url>')} (or set DATABASE_URL)`,
          });
        }
        const target = resolveDatabaseTarget(options.databaseUrl);
        // Read-only: no ledger schema is created, no lock taken (kubeadm's `upgrade plan`).
        const { readBaseline, notBaselinedError } = await import('../ledger/read-baseline.js');
        const state = await readBaseline(target, options.ledgerSchema);
        if (state === null) throw notBaselinedError(options.ledgerSchema, undefined, target.display);
        from = state.release;
        fromDatabase = target.display;
      }
      const [{ loadCatalog }, { planPath }, { stopListing, formatStopListing, explainReasons }] = await Promise.all([
        import('../catalog/load-catalog.js'),
        import('../planner/plan-path.js'),
        import('../upgrade/plan-report.js'),
      ]);
      const catalog = await loadCatalog(options.catalog);
      const plan = planPath(catalog, from, options.to);
      const stops = options.brief === true ? undefined : stopListing(plan, catalog);

      let written: { path: string; planDigest: string } | undefined;
      let printed: object = plan;
      if (options.out !== undefined) {
        const [{ writePlanFile }, { leapfrogVersion }, { pinImageDigests }] = await Promise.all([
          import('../plan-file/plan-file.js'),
          import('./leapfrog-version.js'),
          import('../images/pin-image-digests.js'),
        ]);
        // Saved plans pin each image's digest when Docker answers, so apply can refuse a rebuilt tag.
        const file = await writePlanFile(options.out, await pinImageDigests(plan), {
          createdAt: new Date().toISOString(),
          leapfrogVersion: leapfrogVersion(),
        });
        written = { path: options.out, planDigest: file.planDigest };
        printed = file;
      }

      if (options.output === 'json') {
        // The listing rides beside the plan, never inside the plan file: it is derived from the catalog.
        const extra = {
          ...(fromDatabase === undefined ? {} : { fromDatabase }),
          ...(stops === undefined ? {} : { stops }),
        };
        process.stdout.write(`${JSON.stringify({ ...printed, ...extra })}\n`);
        return 0;
      }
      const { textTable } = await import('./text-table.js');
      const rows = [
        ['STEP', 'RELEASE', 'VERSION', 'WHY'],
        ...plan.steps.map((step, i) => [String(i + 1), step.release, step.version, explainReasons(step.reasons)]),
      ];
      const lines = [
        `${plan.from.release} (${plan.from.version}) -> ${plan.to.release} (${plan.to.version}): ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}, ${pathOf(plan)}`,
      ];
      if (fromDatabase !== undefined)
        lines.push(`(${plan.from.release} is where the ledger of ${fromDatabase} says the database is)`);
      lines.push('', textTable(rows), '');
      if (stops !== undefined) {
        lines.push('What each stop runs, in order (--brief leaves this out):', ...formatStopListing(stops), '');
      }
      if (written) {
        lines.push(`wrote ${written.path} (${written.planDigest.slice(0, 19)}…)`);
        lines.push(`next: ${nextCommand('apply', '--plan', written.path)}`);
      } else {
        lines.push(
          `next: ${nextCommand('plan', '--from', plan.from.release, '--to', plan.to.release, '--out', `plans/${plan.from.release}-to-${plan.to.release}.json`)}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }),
  );
}

function pathOf(plan: Plan): string {
  return [plan.from.release, ...plan.steps.map((s) => s.release)].join(' -> ');
}
