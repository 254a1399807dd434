import type { Catalog, Release } from '../catalog/release.js';
import { InterruptedError, LeapfrogError, NothingToDoError } from '../errors/index.js';
import type { CreateExecutorOptions, ExecutorKind } from '../executors/create-executor.js';
import type { Ledger, RunMode } from '../ledger/ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { PlanFile } from '../plan-file/plan-file.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import type { CheckResult } from '../runner/protocols/upgradecheck.js';
import type { RunResult } from '../runner/run-result.js';
import type { RunnerEvent } from '../runner/events.js';
import type { OutputSink } from '../ui/renderer.js';
import type { OutputMode } from './output-mode.js';
import { nextCommand } from '../util/next-command.js';

/**
 * What the pre-upgrade hook (the backup) gets: the run is open, the lock is held, the preflight
 * was green, and the first command that can change the database is next.
 */
export interface RunHookContext {
  runId: string;
  ledger: Ledger;
  target: DatabaseTarget;
  catalog: Catalog;
  plan: Plan;
  /** Where the database is before this run changes anything. */
  current: ReleaseRef;
  /** The step whose first command is about to run. */
  release: Release;
  signal: AbortSignal;
  /** The run's event listener (the UI): the hook's own events, e.g. backup-started. */
  emit: (event: RunnerEvent) => void;
}

export interface RunPlanCommandOptions {
  /** A saved plan file (`step --plan`, `apply --plan`) … */
  planFile?: string;
  /** …its contents when the caller already read (and so validated) it, so it is read once. */
  planFileContents?: PlanFile;
  /** … or a target release, planned in memory from the ledger's current release (`apply --to`). */
  to?: string;
  catalogDir: string;
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
  /** Given by callers that handle signals themselves (demo); otherwise SIGINT/SIGTERM abort. */
  signal?: AbortSignal;
  /** Runs after the preflight, before the first command that can change the database (the backup). */
  beforeFirstCommand?: (context: RunHookContext) => Promise<void>;
  /** Default: process stdout/stderr. */
  sink?: OutputSink;
  /** Extra listener, e.g. the demo's own summary. */
  onEvent?: (event: RunnerEvent) => void;
  /** The command to suggest for resuming; default built from the options. */
  rerunCommand?: string;
}

export interface PhaseSummary {
  release: string;
  phase: string;
  name: string;
  status: string;
  durationMs: number;
  rowsMigrated: number | null;
  checks: readonly CheckResult[];
}

/** What `step`/`apply` report at the end, and what `demo` prints its summary from. */
export interface RunSummary {
  type: 'summary';
  status: RunResult['status'];
  runId: string | null;
  mode: RunMode;
  planDigest: string;
  from: ReleaseRef;
  to: ReleaseRef;
  /** The releases of the plan, in order. */
  path: readonly string[];
  finalRelease: ReleaseRef;
  durationMs: number;
  rowsMigrated: number;
  phases: readonly PhaseSummary[];
  /** The next command for the operator, or null when the target is reached. */
  next: string | null;
  result: RunResult;
}

/**
 * The whole of `step` and `apply`, shared with `demo` and `rehearse`: load the catalog and plan,
 * take the lock, open (and migrate) the ledger, refuse stale plans, run the plan with the chosen
 * executor while the UI renders its events, and release everything in reverse order without
 * letting a cleanup failure hide the first error.
 */
export async function runPlanCommand(options: RunPlanCommandOptions): Promise<RunSummary> {
  const { loadCatalog } = await import('../catalog/load-catalog.js');
  const { withLockedLedger, runCleanups } = await import('../ledger/with-locked-ledger.js');
  const { ledgerSchemaName } = await import('../ledger/ledger-schema-name.js');
  const { createExecutor } = await import('../executors/create-executor.js');
  const { createRenderer } = await import('../ui/create-renderer.js');
  const { processSink } = await import('../ui/renderer.js');
  const { runPlan } = await import('../runner/run-plan.js');

  const schema = ledgerSchemaName(options.ledgerSchema);
  const sink = options.sink ?? processSink;
  const catalog = await loadCatalog(options.catalogDir);
  let plan: Plan | null = null;
  let planDigest = '';
  if (options.planFile !== undefined) {
    const [{ readPlanFile }, { assertPlanMatchesCatalog }] = await Promise.all([import('../plan-file/plan-file.js'), import('../plan-file/plan-match.js')]);
    const file = options.planFileContents ?? (await readPlanFile(options.planFile));
    assertPlanMatchesCatalog(file, catalog, options.planFile);
    // Exit 6 when an image the plan pinned was rebuilt since (src/images/verify-plan-images.ts).
    const { verifyPlanImages } = await import('../images/verify-plan-images.js');
    const socketPath = options.executorOptions?.docker?.socketPath;
    await verifyPlanImages(file, { planFile: options.planFile, ...(socketPath === undefined ? {} : { socketPath }) });
    plan = file;
    planDigest = file.planDigest;
  }

  // Read-only, before the lock and the ledger's migrations: refusing a database leapfrog has never
  // seen must not create the ledger schema in it.
  const { readBaseline } = await import('../ledger/read-baseline.js');
  if ((await readBaseline(options.target, schema)) === null) {
    const { BadInputError } = await import('../errors/index.js');
    const at = plan === null ? '<the release it is at now>' : plan.from.release;
    throw new BadInputError(`the database ${options.target.display} has no leapfrog ledger release yet (schema "${schema}"), so there is nothing to plan from; nothing was changed`, {
      hint: `adopt it first: \`${nextCommand('baseline', '--release', at)}\` (the release it is at now)`,
    });
  }

  const signals = options.signal === undefined ? installSignalHandlers() : null;
  const signal = options.signal ?? (signals as SignalHandlers).signal;
  try {
    return await withLockedLedger(options.target, { schema, lockTimeoutMs: options.lockTimeoutMs, signal }, async (ledger) => {
      let runnablePlan: Plan;
      if (plan === null) {
        const planned = await planInMemory(ledger, catalog, options.to ?? '');
        if (planned === 'nothing-to-do') {
          const current = await ledger.currentRelease();
          return nothingToDo(options.mode, { release: current?.release ?? '', version: current?.version ?? '' });
        }
        runnablePlan = planned;
        const { planDigestOf } = await import('../plan-file/plan-file.js');
        planDigest = planDigestOf(runnablePlan);
      } else {
        runnablePlan = plan;
      }

      const cleanups: (() => Promise<void>)[] = [];
      let failed = false;
      try {
        const executor = await createExecutor(options.executorKind, options.executorOptions);
        cleanups.unshift(async () => {
          await executor[Symbol.asyncDispose]();
        });
        const renderer = await createRenderer(options.output, sink);
        cleanups.unshift(() => renderer.stop());
        const rerun = options.rerunCommand ?? rerunCommandOf(options);
        const hook = options.beforeFirstCommand;
        const result = await runPlan({
          plan: runnablePlan,
          planDigest,
          catalog,
          ledger,
          executor,
          mode: options.mode,
          database: { url: options.target.url, urlEnv: options.databaseUrlEnv },
          secrets: options.target.secrets,
          signal,
          rerunCommand: rerun,
          onEvent: (event) => {
            renderer.onEvent(event);
            options.onEvent?.(event);
          },
          beforeFirstCommand:
            hook === undefined
              ? undefined
              : (context) => hook({ ...context, ledger, target: options.target, catalog, plan: runnablePlan, signal }),
        });
        return summaryOf(result, planDigest, runnablePlan, rerun);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        await runCleanups(cleanups, failed);
      }
    });
  } catch (error) {
    // A signal that arrived while waiting or planning still means "interrupted".
    if (signal.aborted && !(error instanceof LeapfrogError)) {
      throw new InterruptedError('interrupted', { hint: 'run the command again to resume', cause: error });
    }
    throw error;
  } finally {
    signals?.dispose();
  }
}

async function planInMemory(ledger: Ledger, catalog: Catalog, to: string): Promise<Plan | 'nothing-to-do'> {
  const { BadInputError } = await import('../errors/index.js');
  const { planPath } = await import('../planner/plan-path.js');
  const current = await ledger.currentRelease();
  if (current === null) {
    throw new BadInputError(`the database has no leapfrog ledger release yet (schema "${ledger.schema}"), so there is nothing to plan from`, {
      hint: `adopt it first: \`${nextCommand('baseline', '--release', '<release>')}\` (the release it is at now)`,
    });
  }
  try {
    return planPath(catalog, current.release, to);
  } catch (error) {
    if (error instanceof NothingToDoError) return 'nothing-to-do';
    throw error;
  }
}

function nothingToDo(mode: RunMode, at: ReleaseRef): RunSummary {
  const result: RunResult = { runId: null, mode, status: 'nothing-to-do', from: at, to: at, finalRelease: at, steps: [], durationMs: 0 };
  return {
    type: 'summary', status: 'nothing-to-do', runId: null, mode, planDigest: '', from: at, to: at, path: [], finalRelease: at,
    durationMs: 0, rowsMigrated: 0, phases: [], next: null, result,
  };
}

function summaryOf(result: RunResult, planDigest: string, plan: Plan, rerun: string): RunSummary {
  const phases: PhaseSummary[] = result.steps.flatMap((s) =>
    s.phases.map((p) => ({
      release: p.release, phase: p.phase, name: p.name, status: p.status, durationMs: p.durationMs, rowsMigrated: p.rowsMigrated, checks: p.checks,
    })),
  );
  const reached = result.finalRelease.release === plan.to.release;
  return {
    type: 'summary',
    status: result.status,
    runId: result.runId,
    mode: result.mode,
    planDigest,
    from: result.from,
    to: result.to,
    path: plan.steps.map((s) => s.release),
    finalRelease: result.finalRelease,
    durationMs: result.durationMs,
    rowsMigrated: phases.reduce((a, p) => a + (p.rowsMigrated ?? 0), 0),
    phases,
    next: reached ? null : rerun,
    result,
  };
}

function rerunCommandOf(options: RunPlanCommandOptions): string {
  const verb = options.mode === 'step' ? 'step' : 'apply';
  const what = options.planFile !== undefined ? ['--plan', options.planFile] : ['--to', options.to ?? '<release>'];
  return nextCommand(verb, ...what);
}

export interface SignalHandlers {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * SIGINT/SIGTERM abort the run: the executor stops the command, the runner records the phase as
 * interrupted, the finally blocks release the lock, the verb exits 130 with the resume hint. A
 * second Ctrl-C while that happens (people press it twice) is not allowed to cut the recording
 * short; a third quits at once for a run that cannot stop (the ledger then still says running).
 */
export function installSignalHandlers(): SignalHandlers {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (name: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      controller.abort(new Error(`received ${name}`));
    } else if (received === 2) {
      process.stderr.write(`\nleapfrog: already stopping (${name === 'SIGINT' ? 'Ctrl-C' : name} once more quits without waiting; the ledger would then still show the run as running)\n`);
    } else {
      // The terminal gets its cursor back even when the renderer never ends.
      if (process.stdout.isTTY) process.stdout.write('\u001b[?25h\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
