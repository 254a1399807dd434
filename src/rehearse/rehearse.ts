import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { locateBackup } from '../backup/backup-store.js';
import type { PgTools } from '../backup/pg-tools.js';
import { restoreBackup } from '../backup/restore-backup.js';
import { verifyBackup } from '../backup/restore-backup.js';
import { LeapfrogError } from '../errors/index.js';
import { databaseName, withDatabase, type DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../util/redact.js';
import { rehearsalHtml } from './rehearsal-html.js';
import type { RehearsalReport } from './rehearsal-report.js';
import { cloneDatabase, scratchHandle, scratchName, type ScratchDatabase } from './scratch-database.js';
import { TimelineRecorder } from './timeline-recorder.js';
import { nextCommand } from '../util/next-command.js';
import { logger } from '../util/logger.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import { assertPlanMatchesCatalog } from '../plan-file/plan-match.js';
import type { RunnerEvent } from '../runner/events.js';
import { runUpgrade, type RunSummary, type RunUpgradeOptions } from '../upgrade/run-upgrade.js';

const log = logger('rehearse');

export type RehearsalSource =
  | { kind: 'clone'; production: DatabaseTarget }
  | { kind: 'backup'; ref: string; backupDir: string; sha256?: string; tools: PgTools; jobs: number };

export interface RehearseOptions {
  planFile: string;
  source: RehearsalSource;
  /** The scratch database; default: a new `<db>_rehearsal_<hex>` on the production server. */
  scratch: DatabaseTarget;
  keep: boolean;
  reportDir: string;
  /** The run itself: catalog, ledger schema, executor, output; target and plan are filled in. */
  run: Omit<
    RunUpgradeOptions,
    'target' | 'planFile' | 'planFileContents' | 'to' | 'mode' | 'onEvent' | 'safety' | 'signal'
  >;
  /** Aborts the run on the scratch copy (the CLI's Ctrl-C). */
  signal?: AbortSignal;
  /** The run's events as well (`rehearse --fleet` shows each running target's phase). */
  onEvent?: (event: RunnerEvent) => void;
}

export interface RehearsalOutcome {
  report: RehearsalReport;
  jsonPath: string;
  htmlPath: string;
  /** The run's failure, after the report was written; the CLI rethrows it for the exit code. */
  error: LeapfrogError | null;
}

/**
 * Runs a whole plan on a scratch copy of production: the copy is a `CREATE DATABASE … TEMPLATE`
 * clone or a restore of a verified backup; the plan runs there with the same runner, ledger and
 * executor as `apply`; the scratch database is dropped unless --keep; the report is written
 * even when the run fails, because a failed rehearsal is the one worth reading. Production is
 * only ever read (the clone), never connected to for writing.
 */
export async function rehearse(options: RehearseOptions): Promise<RehearsalOutcome> {
  const origin = performance.now();
  const startedAt = new Date();
  const timeline = new TimelineRecorder(origin);
  // A bad plan is refused before any copy is made.
  const plan = await readPlanFile(options.planFile);
  assertPlanMatchesCatalog(plan, await loadCatalog(options.run.catalogDir), options.planFile);

  const { scratch: scratchTarget } = options;
  let reportSource: RehearsalReport['source'];
  let scratch: ScratchDatabase;
  const copyStart = performance.now();
  if (options.source.kind === 'clone') {
    scratch = await cloneDatabase(options.source.production, databaseName(scratchTarget));
    reportSource = { kind: 'clone', database: options.source.production.display };
  } else {
    const backup = await locateBackup(options.source.ref, options.source.backupDir);
    const sha256 = await verifyBackup(backup, options.source.sha256);
    await restoreBackup({
      backup,
      target: scratchTarget,
      tools: options.source.tools,
      yes: false,
      create: true,
      jobs: options.source.jobs,
    });
    scratch = scratchHandle(scratchTarget);
    reportSource = { kind: 'backup', path: backup.path, sha256 };
  }
  const copyMs = performance.now() - copyStart;
  timeline.add({
    release: plan.from.release,
    phase: 'copy',
    name: options.source.kind === 'clone' ? 'clone (TEMPLATE)' : 'pg_restore of backup',
    status: 'succeeded',
    startMs: copyStart - origin,
    durationMs: copyMs,
    rowsMigrated: null,
    checks: [],
    message: null,
  });

  let summary: RunSummary | null = null;
  let error: LeapfrogError | null = null;
  const runStart = performance.now();
  try {
    summary = await runUpgrade({
      ...options.run,
      target: scratch.target,
      planFile: options.planFile,
      planFileContents: plan,
      mode: 'apply',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onEvent: (event) => {
        timeline.onEvent(event);
        options.onEvent?.(event);
      },
      rerunCommand: `${nextCommand('rehearse', '--plan', options.planFile, ...(options.source.kind === 'clone' ? ['--clone'] : ['--from-backup', options.source.ref]))} (after fixing the cause)`,
    });
    error = summary.result.error ?? null;
  } catch (caught) {
    // Refused before the run started (stale plan, not baselined, lock held): nothing ran.
    if (!(caught instanceof LeapfrogError)) {
      await dropUnlessKept(scratch, options.keep, true);
      throw caught;
    }
    error = caught;
  }
  const runMs = performance.now() - runStart;
  await dropUnlessKept(scratch, options.keep, error !== null);

  const secrets = [
    ...scratch.target.secrets,
    ...(options.source.kind === 'clone' ? options.source.production.secrets : []),
  ];
  const report: RehearsalReport = {
    type: 'rehearsal',
    reportVersion: 1,
    status: error === null ? 'succeeded' : 'failed',
    plan: {
      file: options.planFile,
      from: plan.from.release,
      to: plan.to.release,
      path: plan.steps.map((s) => s.release),
      planDigest: plan.planDigest,
    },
    source: reportSource,
    scratch: { database: scratch.target.display, kept: options.keep },
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - origin,
    copyMs,
    runMs,
    rowsMigrated: timeline.entries.reduce((sum, e) => sum + (e.rowsMigrated ?? 0), 0),
    finalRelease: summary?.finalRelease.release ?? null,
    timeline: timeline.entries,
    error:
      error === null
        ? null
        : { message: redact(error.message, secrets), hint: redact(error.hint, secrets), exitCode: error.exitCode },
  };
  const dir = resolve(options.reportDir);
  await mkdir(dir, { recursive: true });
  const stem = `rehearsal-${plan.from.release}-to-${plan.to.release}-${startedAt.toISOString().replace(/[-:.]/g, '')}`;
  const jsonPath = join(dir, `${stem}.json`);
  const htmlPath = join(dir, `${stem}.html`);
  await writeFile(jsonPath, `${redact(JSON.stringify(report, null, 2), secrets)}\n`);
  await writeFile(htmlPath, redact(rehearsalHtml(report), secrets));
  return { report, jsonPath, htmlPath, error };
}

/** Dropping is cleanup: its own failure never replaces the run's error. */
async function dropUnlessKept(scratch: ScratchDatabase, keep: boolean, alreadyFailed: boolean): Promise<void> {
  if (keep) return;
  try {
    await scratch.drop();
  } catch (error) {
    if (!alreadyFailed) throw error;
    log.suppressed('dropping the scratch database', error);
  }
}

/** The default scratch database: a new name on the server of `base`. */
export function defaultScratch(base: DatabaseTarget): DatabaseTarget {
  return withDatabase(base, scratchName(databaseName(base)));
}
