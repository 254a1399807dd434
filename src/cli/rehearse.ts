import type { Command } from 'commander';
import { BadInputError } from '../errors/index.js';
import { action } from './action.js';
import { parallelArgument } from './fleet-options.js';
import { jobsArgument } from './backup.js';
import { dockerExecutorOptions, withCatalog, withDatabase, withExecutor, type DockerFlags } from './common-options.js';
import { withRunOptions, type RunVerbOptions } from './run-verb-options.js';
import { installSignalHandlers } from './signals.js';
import { nextCommand } from '../util/next-command.js';

interface Options extends RunVerbOptions, DockerFlags {
  plan?: string;
  fleet?: string;
  to?: string;
  parallel?: number;
  fromBackup?: string;
  clone?: boolean;
  scratchUrl?: string;
  keep?: boolean;
  reportDir: string;
  sha256?: string;
  backupDir: string;
  pgBin?: string;
  jobs?: number;
}

export function register(program: Command): void {
  const command = program
    .command('rehearse')
    .description(
      'run a whole plan on a scratch copy of production (a clone or a backup), then write a JSON report and an HTML timeline; production is never written to',
    )
    .option('--plan <file>', 'the plan to rehearse (from `leapfrog plan --out`); required without --fleet')
    .option(
      '--fleet <file>',
      'rehearse every target of a fleet.yaml to --to, each on a clone of its own (docs/fleets.md)',
    )
    .option('--to <release>', 'with --fleet: the release every target is rehearsed to')
    .option(
      '--parallel <n>',
      "with --fleet: at most N targets of a group at a time (replaces the groups' parallel)",
      parallelArgument,
    )
    .option('--from-backup <file>', 'make the copy from this backup (dump, folder, sidecar or backup id)')
    .option('--clone', 'make the copy with CREATE DATABASE … TEMPLATE on the same server (needs the source idle)')
    .option(
      '--scratch-url <url>',
      'the scratch database (default: a new <db>_rehearsal_<hex> on the --database-url server); never printed',
    )
    .option('--keep', 'keep the scratch database afterwards, to inspect it')
    .option('--report-dir <dir>', 'where to write the JSON and HTML reports', 'reports')
    .option('--sha256 <hex>', 'expected digest of a backup that has no sidecar')
    .option('--backup-dir <dir>', 'where to look up a backup id', 'backups')
    .option('--jobs <n>', 'pg_restore parallel jobs for a directory-format backup', jobsArgument)
    .option('--pg-bin <dir>', 'folder with pg_dump and pg_restore (default: $PG_BIN, then PATH)')
    .addHelpText(
      'after',
      '\nExamples:\n  leapfrog rehearse --plan plans/2023.1-to-2025.1.json --clone\n  leapfrog rehearse --plan plans/2023.1-to-2025.1.json --from-backup backups/app-2023.1-….dump --keep',
    );
  withRunOptions(withExecutor(withDatabase(withCatalog(command)))).action(
    action<Options>(async (options) => {
      if (options.fleet !== undefined)
        return (await import('./fleet-command.js')).rehearseFleetVerb({ ...options, fleet: options.fleet });
      if (options.plan === undefined) {
        throw new BadInputError('rehearse needs --plan FILE (or --fleet FILE --to RELEASE)', {
          hint: nextCommand('rehearse', '--plan', 'plans/<from>-to-<to>.json', '--clone'),
        });
      }
      const planFile = options.plan;
      if ((options.fromBackup === undefined) === (options.clone !== true)) {
        throw new BadInputError('rehearse needs exactly one of --from-backup FILE or --clone', {
          hint: `${nextCommand('rehearse', '--plan', planFile, '--clone')} (or --from-backup backups/<file>.dump)`,
        });
      }
      const { resolveDatabaseTarget, databaseTargetFromUrl } = await import('../pg/database-target.js');
      const { rehearse, defaultScratch } = await import('../rehearse/rehearse.js');
      const { resolvePgTools } = await import('../backup/pg-tools.js');
      const { formatDuration } = await import('../util/duration.js');
      const explicitScratch = options.scratchUrl === undefined ? undefined : databaseTargetFromUrl(options.scratchUrl);
      // With a backup and an explicit scratch URL, production need not be reachable at all.
      const production =
        options.clone === true || explicitScratch === undefined
          ? resolveDatabaseTarget(options.databaseUrl)
          : undefined;
      const scratch = explicitScratch ?? defaultScratch(production as NonNullable<typeof production>);
      if (production !== undefined && scratch.url === production.url) {
        throw new BadInputError('the scratch database is the production database', {
          hint: 'leave out --scratch-url, or point it at another database',
        });
      }
      const source =
        options.clone === true
          ? { kind: 'clone' as const, production: production as NonNullable<typeof production> }
          : {
              kind: 'backup' as const,
              ref: options.fromBackup as string,
              backupDir: options.backupDir,
              tools: await resolvePgTools(options.pgBin),
              jobs: options.jobs ?? 2,
              ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
            };
      using signals = installSignalHandlers();
      const outcome = await rehearse({
        planFile,
        source,
        scratch,
        keep: options.keep === true,
        reportDir: options.reportDir,
        signal: signals.signal,
        run: {
          catalogDir: options.catalog,
          ledgerSchema: options.ledgerSchema,
          executorKind: options.executor ?? 'process',
          executorOptions: { docker: dockerExecutorOptions(options) },
          output: options.output,
          lockTimeoutMs: options.lockTimeout,
          databaseUrlEnv: options.databaseUrlEnv,
        },
      });
      const { report } = outcome;
      if (options.output === 'json') {
        process.stdout.write(
          `${JSON.stringify({ ...report, timeline: undefined, phases: report.timeline.length, json: outcome.jsonPath, html: outcome.htmlPath })}\n`,
        );
      } else {
        process.stdout.write(
          `rehearsal ${report.status}: ${report.plan.from} -> ${report.plan.path.join(' -> ')} on ${report.scratch.database} (${report.scratch.kept ? 'kept' : 'dropped'}); copy ${formatDuration(report.copyMs)}, upgrade ${formatDuration(report.runMs)}, ${report.rowsMigrated.toLocaleString('en-US')} rows migrated\n`,
        );
        process.stdout.write(`report: ${outcome.htmlPath}\n        ${outcome.jsonPath}\n`);
      }
      if (outcome.error !== null) throw outcome.error;
      return 0;
    }),
  );
}
