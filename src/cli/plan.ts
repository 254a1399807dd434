import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import type { Plan, StepReason } from '../planner/plan.js';
import { action } from './action.js';
import { withCatalog } from './common-options.js';
import { nextCommand } from '../util/next-command.js';

interface PlanOptions {
  catalog: string;
  from?: string;
  to?: string;
  out?: string;
  fleet?: string;
  ledgerSchema?: string;
}

export function register(program: Command): void {
  withCatalog(
    program
      .command('plan')
      .description(
        'compute the path of releases from --from to --to (milestones, accepted ranges, newest patches); --out saves it for apply',
      )
      .option('--from <release>', 'the release the database is at (id such as 2023.1, or its version)')
      .option('--to <release>', 'the release to upgrade to')
      .option('--out <file>', 'write the plan file (planVersion 1, digests pinned), e.g. plans/2023.1-to-2025.1.json')
      .option('--fleet <file>', "each target's path from its ledger and the fleet's order, as a tree (needs --to)")
      .option(
        '--ledger-schema <name>',
        'with --fleet: the ledger schema of targets that do not name their own',
        'leapfrog',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  leapfrog plan --from 2023.1 --to 2025.1\n  leapfrog plan --from 2023.1 --to 2025.1 --out plans/2023.1-to-2025.1.json\n  leapfrog plan --from 2023.1 --to 2025.1 --output json',
      ),
  ).action(
    action<PlanOptions>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).planFleetVerb({ ...options, fleet: options.fleet });
      if (options.from === undefined || options.to === undefined) {
        const missing = options.from === undefined ? '--from' : '--to';
        throw new BadInputError(
          `${missing} is required: ${missing === '--from' ? 'the release the database is at' : 'the release to upgrade to'}`,
          {
            hint: `${nextCommand('plan', '--from', '<release>', '--to', '<release>')} (list the ids with: ${nextCommand('releases')})`,
          },
        );
      }
      const [{ loadCatalog }, { planPath }] = await Promise.all([
        import('../catalog/load-catalog.js'),
        import('../planner/plan-path.js'),
      ]);
      const catalog = await loadCatalog(options.catalog);
      const plan = planPath(catalog, options.from, options.to);

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
        process.stdout.write(`${JSON.stringify(printed)}\n`);
        return 0;
      }
      const { textTable } = await import('./text-table.js');
      const rows = [
        ['STEP', 'RELEASE', 'VERSION', 'WHY'],
        ...plan.steps.map((step, i) => [String(i + 1), step.release, step.version, explain(step.reasons)]),
      ];
      const lines = [
        `${plan.from.release} (${plan.from.version}) -> ${plan.to.release} (${plan.to.version}): ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}, ${pathOf(plan)}`,
        '',
        textTable(rows),
        '',
      ];
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

function explain(reasons: readonly StepReason[]): string {
  return reasons
    .map((reason) => {
      switch (reason.kind) {
        case 'milestone':
          return reason.milestone ? `milestone ${reason.milestone} (newest patch of its series)` : 'milestone';
        case 'accepts':
          return `accepts ${reason.previous} (upgradeFrom ${reason.range})`;
        case 'target':
          return 'target';
      }
    })
    .join('; ');
}
