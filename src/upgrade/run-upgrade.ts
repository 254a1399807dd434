import { NO_RECORDED_BACKUP, wayBackAfterRedCheck } from '../backup/forward-only.js';
import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import type { Catalog } from '../catalog/release.js';
import { InterruptedError, LeapfrogError, NothingToDoError } from '../errors/index.js';
import { createExecutor, type CreateExecutorOptions, type ExecutorKind } from '../executors/create-executor.js';
import { verifyPlanImages } from '../images/verify-plan-images.js';
import type { RunMode } from '../ledger/ledger.js';
import { LockSession } from '../ledger/ledger-lock.js';
import { LedgerSession } from '../ledger/open-ledger.js';
import { notBaselinedError } from '../ledger/read-baseline.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { planDigestOf, readPlanFile, type PlanFile } from '../plan-file/plan-file.js';
import { assertPlanMatchesCatalog } from '../plan-file/plan-match.js';
import { planPath } from '../planner/plan-path.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import type { RunnerEvent } from '../runner/events.js';
import { runPlan } from '../runner/run-plan.js';
import type { RunResult } from '../runner/run-result.js';
import { createRenderer } from '../ui/create-renderer.js';
import type { OutputMode } from '../ui/output-mode.js';
import { processSink, type OutputSink } from '../ui/renderer.js';
import { AsyncDisposableStack } from '../util/disposable-stack.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import { runGuards } from './guards.js';
import { preUpgradeBackup, type BackupOption } from './pre-upgrade-backup.js';
import { summaryOf, nothingToDo, type RunSummary } from './run-summary.js';

const log = logger('upgrade');

export type { RunSummary, PhaseSummary } from './run-summary.js';

export interface RunUpgradeOptions {
  /** A saved plan file (`step --plan`, `apply --plan`) … */
  planFile?: string | undefined;
  /** …its contents when the caller already read (and so validated) it, so it is read once. */
  planFileContents?: PlanFile | undefined;
  /** … or a target release, planned in memory from the ledger's current release (`apply --to`). */
  to?: string | undefined;
  catalogDir: string;
  /** The catalog of `catalogDir` when the caller already loaded it (a fleet loads each once). */
  catalog?: Catalog | undefined;
  target: DatabaseTarget;
  ledgerSchema: string;
  executorKind: ExecutorKind;
  executorOptions?: CreateExecutorOptions;
  mode: RunMode;
  output: OutputMode;
  lockTimeoutMs: number;
  /**
   * `--database-url-env` when given: the variable that carries the URL to phase commands. Absent,
   * each release's manifest `databaseUrlEnv` decides, then DATABASE_URL (phaseEnvironment).
   */
  databaseUrlEnv?: string | undefined;
  /** Aborts the run (the CLI turns SIGINT/SIGTERM into it); absent, nothing interrupts it. */
  signal?: AbortSignal;
  /**
   * `step`/`apply`'s safety (issue 6): the forward-only guard looks for this database's backups in
   * `backupDir`; `backup` is the pre-upgrade backup (absent with `--no-backup`). Absent as a whole
   * (rehearse, demo, validate): neither.
   */
  safety?: { backupDir: string; backup?: BackupOption | undefined };
  /**
   * Default: process stdout/stderr. `null`: nobody reads this run's lines (a fleet's walk, whose
   * progress is `onEvent`), so no renderer is made, no event is formatted and `output` is unused.
   */
  sink?: OutputSink | null;
  /** Extra listener, e.g. the demo's own summary or the rehearsal's timeline. */
  onEvent?: (event: RunnerEvent) => void;
  /** The command to suggest for resuming; default built from the options. */
  rerunCommand?: string;
}

/**
 * THE run pipeline of `step` and `apply`, shared with `rehearse`, `validate --rehearse` and
 * `demo` (after Kysely's Migrator: read, then lock, then run):
 *
 * 1. read and validate what needs no database, once: the plan file, the catalog, the plan
 *    against the catalog (and its pinned images, for the docker executor);
 * 2. open the ledger session and read it read-only, once (a refused database gets no schema);
 * 3. the guards in order over that reading (src/upgrade/guards.ts): baselined, forward-only,
 *    pg_dump usable;
 * 4. take the lock (its own session, connected beside the ledger session in 2); migrate the
 *    ledger only when behind, claim the fence, close abandoned runs; read the release once more,
 *    now that it cannot move, and plan `--to` from it;
 * 5. run the plan with the executor, the renderer and the backup object (the runner decides when
 *    the backup is taken).
 *
 * Two database connections before the first phase command: the ledger session and the lock's.
 * Returns the summary; a run that stopped carries its typed error in `summary.result.error`.
 * Throws only for refusals before the run (bad input, stale plan, lock held, downgrade).
 */
export async function runUpgrade(options: RunUpgradeOptions): Promise<RunSummary> {
  const signal = options.signal ?? new AbortController().signal;
  try {
    return await pipeline(options, signal);
  } catch (error) {
    // A signal that arrived while waiting or planning still means "interrupted".
    if (signal.aborted && !(error instanceof LeapfrogError)) {
      throw new InterruptedError('interrupted', { hint: 'run the command again to resume', cause: error });
    }
    throw error;
  }
}

async function pipeline(options: RunUpgradeOptions, signal: AbortSignal): Promise<RunSummary> {
  const { target } = options;
  // 1. Everything that needs no database, read once.
  const file =
    options.planFile === undefined ? null : (options.planFileContents ?? (await readPlanFile(options.planFile)));
  const catalog = options.catalog ?? (await loadCatalog(options.catalogDir));
  if (file !== null) await checkPlanFile(file, catalog, options);
  const to = file !== null ? file.to : requestedRelease(catalog, options.to);

  await using stack = new AsyncDisposableStack();
  // 2. The ledger, read-only. The lock's session connects meanwhile; the lock is taken in 4.
  const lockSession = stack.use(new LockSession(target), 'the lock session');
  const session = stack.use(await LedgerSession.open(target, options.ledgerSchema), 'the ledger session');
  // 3. The guards.
  const backupOption = options.safety?.backup;
  const { prepared } = await runGuards({
    target,
    session,
    probe: session.sqlProbe(),
    catalog,
    plan: file,
    to,
    backupDir: options.safety?.backupDir,
    backup: backupOption,
    executorKind: options.executorKind,
  });

  // 4. The lock, then the ledger on the same session.
  const lock = stack.use(
    await lockSession.acquire({ schema: session.schema, timeoutMs: options.lockTimeoutMs, signal }),
    'the ledger lock',
  );
  const ledger = await session.underLock(lock);
  // Another run may have moved the release while this one waited for the lock.
  const state = await ledger.currentRelease();
  if (state === null) throw notBaselinedError(session.schema, file?.from.release, target.display);
  const current: ReleaseRef = { release: state.release, version: state.version };
  let plan: Plan;
  let planDigest: string;
  if (file !== null) {
    plan = file;
    planDigest = file.planDigest;
  } else {
    const planned = planInMemory(catalog, current, options.to ?? '');
    if (planned === 'nothing-to-do') return nothingToDo(options.mode, current);
    plan = planned;
    planDigest = planDigestOf(plan);
  }

  // 5. The run.
  const executor = stack.use(await createExecutor(options.executorKind, options.executorOptions), 'the executor');
  const renderer =
    options.sink === null
      ? null
      : stack.adopt(await createRenderer(options.output, options.sink ?? processSink), (r) => r.stop(), 'the renderer');
  const rerun = options.rerunCommand ?? rerunCommandOf(options);
  log.debug(`running ${plan.from.release} -> ${plan.to.release} (${options.mode}) from ${current.release}`);
  const result: RunResult = await runPlan({
    plan,
    planDigest,
    catalog,
    ledger,
    executor,
    mode: options.mode,
    current,
    database: { url: target.url, urlEnv: options.databaseUrlEnv },
    secrets: target.secrets,
    signal,
    rerunCommand: rerun,
    sqlProbe: session.sqlProbe(),
    wayBack: async (from) => {
      try {
        return wayBackAfterRedCheck(await ledger.backups(), from) ?? NO_RECORDED_BACKUP;
      } catch (error) {
        // The hint is advice; a ledger that cannot be read must not replace the check's own error.
        log.suppressed('reading the backups for the way-back hint', error);
        return NO_RECORDED_BACKUP;
      }
    },
    onEvent: (event) => {
      renderer?.onEvent(event);
      options.onEvent?.(event);
    },
    ...(prepared === null || backupOption === undefined
      ? {}
      : {
          backup: preUpgradeBackup(prepared, { ledger, mode: options.mode, planFrom: plan.from, option: backupOption }),
        }),
  });
  // A run that stopped has its error to report: a cleanup failure now is logged, never reported instead.
  if (result.error !== undefined) await stack.disposeAsync(true);
  return summaryOf(result, planDigest, plan, rerun);
}

/** Exit 6 when the plan no longer matches the catalog, or an image it pinned was rebuilt since. */
export async function checkPlanFile(
  file: PlanFile,
  catalog: Catalog,
  options: Pick<RunUpgradeOptions, 'planFile' | 'executorKind' | 'executorOptions'>,
): Promise<void> {
  const planFile = options.planFile ?? '';
  assertPlanMatchesCatalog(file, catalog, planFile);
  // Images matter only to the docker executor; Docker is not even contacted when nothing is pinned.
  if (options.executorKind !== 'docker' || !file.steps.some((s) => s.imageDigest !== null)) return;
  const socketPath = options.executorOptions?.docker?.socketPath;
  await verifyPlanImages(file, { planFile, ...(socketPath === undefined ? {} : { socketPath }) });
}

/** `--to` as a release, for the forward-only guard; undefined when unknown (planning reports that). */
export function requestedRelease(catalog: Catalog, to: string | undefined): ReleaseRef | undefined {
  if (to === undefined) return undefined;
  try {
    const release = findRelease(catalog, to);
    return { release: release.id, version: release.version };
  } catch (error) {
    if (error instanceof LeapfrogError) return undefined;
    throw error;
  }
}

export function planInMemory(catalog: Catalog, current: ReleaseRef, to: string): Plan | 'nothing-to-do' {
  try {
    return planPath(catalog, current.release, to);
  } catch (error) {
    if (error instanceof NothingToDoError) return 'nothing-to-do';
    throw error;
  }
}

function rerunCommandOf(options: RunUpgradeOptions): string {
  const verb = options.mode === 'step' ? 'step' : 'apply';
  const what = options.planFile !== undefined ? ['--plan', options.planFile] : ['--to', options.to ?? '<release>'];
  return nextCommand(verb, ...what);
}
