import { Listr, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import { formatBytes } from '../backup/format-backup.js';
import { formatDuration } from '../util/duration.js';
import type { PhaseRef, RunnerEvent } from '../runner/events.js';
import type { PhaseOutcomeStatus } from '../runner/run-result.js';
import { deferred, type Deferred } from './deferred.js';
import {
  backupHead,
  CHECK_RESULT_NAMES,
  formatBackup,
  formatMigrated,
  formatProgressLines,
  phaseLabel,
} from './format.js';
import type { Renderer } from './renderer.js';
import { logger } from '../util/logger.js';

const log = logger('ui');

interface PhaseDone {
  status: PhaseOutcomeStatus;
  title: string;
}

interface BackupDone {
  ok: boolean;
  title: string;
}

type AnyTask = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

/**
 * The TTY view: a listr2 tree of steps and their phases, with a live progress line (done and
 * remaining per migration and for the phase, rate, ETA) under the data phase, and the pre-upgrade
 * backup as its own task (spinner, size so far, path) where the run takes it. listr2 drives
 * tasks, the runner drives events, so each task waits on a deferred that the events settle.
 */
export class ListrRenderer implements Renderer {
  private readonly steps = new Map<string, Deferred<readonly PhaseRef[]>>();
  private readonly phases = new Map<string, Deferred<PhaseDone>>();
  private readonly tasks = new Map<string, AnyTask>();
  /** Phases whose command the runner started (listr2 may have reached more of them). */
  private readonly started = new Set<string>();
  /** The unit each data phase's progress lines used, for its closing title. */
  private readonly units = new Map<string, string>();
  /** Every check verdict of a phase so far (SQL checks, then the command's): all stay under the task. */
  private readonly checkLines = new Map<string, string[]>();
  /** Per step: does the backup show in this step (true) or not (false)? */
  private readonly backupSlots = new Map<string, Deferred<boolean>>();
  private readonly backupDone = deferred<BackupDone>();
  private backupTask: AnyTask | null = null;
  private backupLine = '';
  private backupHead = 'backup';
  private currentStep: string | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private finished = false;

  onEvent(event: RunnerEvent): void {
    switch (event.type) {
      case 'run-started':
        this.start(event.pending);
        return;
      case 'step-started':
        this.currentStep = event.release;
        this.stepOf(event.release).resolve(event.phases);
        return;
      case 'phase-started': {
        // The backup comes before the first command that can change the database: once such a
        // command starts in a step without a backup, that step will not get one. (A phase
        // skipped as already done says nothing: a resumed run backs up before its next command.)
        if (event.phase !== 'preflight') this.slotOf(event.release).resolve(false);
        this.started.add(keyOf(event));
        const task = this.tasks.get(keyOf(event));
        if (task && event.attempt > 1) task.title = `${phaseLabel(event)} (attempt ${event.attempt})`;
        return;
      }
      case 'phase-output': {
        const task = this.tasks.get(keyOf(event));
        if (task) task.output = event.line;
        return;
      }
      case 'progress': {
        this.units.set(keyOf(event), event.phaseUnit);
        const task = this.tasks.get(keyOf(event));
        if (task) task.output = formatProgressLines(event).join('\n');
        return;
      }
      case 'check-result': {
        // listr2 keeps a task's last output: the verdicts are joined so none replaces another.
        const lines = this.checkLines.get(keyOf(event)) ?? [];
        lines.push(
          `${CHECK_RESULT_NAMES[event.result] ?? event.result}: ${event.check}${event.details ? ` — ${event.details}` : ''}`,
        );
        this.checkLines.set(keyOf(event), lines);
        const task = this.tasks.get(keyOf(event));
        if (task) task.output = lines.join('\n');
        return;
      }
      case 'phase-finished': {
        const rows = formatMigrated(event.rowsMigrated, this.units.get(keyOf(event)));
        const why = event.message === null ? '' : ` — ${event.message}`;
        this.phaseOf(event).resolve({
          status: event.status,
          title:
            event.status === 'skipped'
              ? `${phaseLabel(event)} (already done)`
              : `${phaseLabel(event)} ${formatDuration(event.durationMs)}${rows}${why}`,
        });
        return;
      }
      case 'backup-started':
        this.backupLine = formatBackup(event);
        this.backupHead = backupHead(event);
        if (this.currentStep !== null) this.slotOf(this.currentStep).resolve(true);
        return;
      case 'backup-progress':
        // In the title, not the output: a task that started untitled gets its output in listr2's
        // bottom bar, away from the task.
        this.backupLine = `${this.backupHead}: ${formatBytes(event.bytes)} so far (${formatDuration(event.elapsedMs)}) → ${event.path}`;
        if (this.backupTask) this.backupTask.title = this.backupLine;
        return;
      case 'backup-finished':
        this.backupDone.resolve({ ok: true, title: formatBackup(event) });
        return;
      case 'backup-failed':
        this.backupDone.resolve({ ok: false, title: formatBackup(event) });
        return;
      case 'step-finished':
        this.slotOf(event.result.release).resolve(false);
        return;
      case 'run-finished':
        this.settleAll();
        return;
    }
  }

  private start(releases: readonly string[]): void {
    const list = new Listr(
      releases.map((release) => ({
        title: release,
        task: async (_ctx: unknown, task: AnyTask) => {
          const phases = await this.stepOf(release).promise;
          const tasks = phases.map((ref) => ({
            title: phaseLabel(ref),
            task: async (_c: unknown, phaseTask: AnyTask) => {
              this.tasks.set(keyOf(ref), phaseTask);
              const done = await this.phaseOf(ref).promise;
              phaseTask.title = done.title;
              if (done.status === 'skipped' || done.status === 'not-run') phaseTask.skip(done.title);
              else if (done.status !== 'succeeded') throw new Error(done.title);
            },
            rendererOptions: { persistentOutput: ref.phase === 'check' || ref.phase === 'preflight' },
          }));
          // The backup's place: after the preflight (read-only), before the first command that
          // can change the database. Untitled, listr2 shows nothing until a backup starts here.
          const afterPreflight = phases.filter((ref) => ref.phase === 'preflight').length;
          tasks.splice(afterPreflight, 0, {
            title: '',
            task: (_c: unknown, backupTask: AnyTask) => this.showBackup(release, backupTask),
            rendererOptions: { persistentOutput: false },
          });
          return task.newListr(tasks, { concurrent: false, exitOnError: true });
        },
      })),
      {
        concurrent: false,
        exitOnError: true,
        // listr2's own SIGINT listener calls process.exit(127): no phase recorded as interrupted,
        // no lock released, no hint. Ctrl-C belongs to the verb's handler, which aborts the run
        // and lets the runner end it (exit 130); the list then ends normally and shows the cursor.
        registerSignalListeners: false,
        rendererOptions: { collapseSubtasks: false, collapseErrors: false },
      },
    );
    // The run's own error travels through the runner's result; a failed task list only ends the display.
    this.running = list.run().then(
      () => undefined,
      (error: unknown) => log.suppressed('ending the task list', error),
    );
  }

  private async showBackup(release: string, task: AnyTask): Promise<void> {
    if (!(await this.slotOf(release).promise)) return;
    this.backupTask = task;
    task.title = this.backupLine;
    const done = await this.backupDone.promise;
    this.backupTask = null;
    task.title = done.title;
    if (!done.ok) throw new Error(done.title);
  }

  private stepOf(release: string): Deferred<readonly PhaseRef[]> {
    return getOr(this.steps, release, () => {
      const d = deferred<readonly PhaseRef[]>();
      if (this.finished) d.reject(new Error('not run'));
      return d;
    });
  }

  private slotOf(release: string): Deferred<boolean> {
    return getOr(this.backupSlots, release, () => {
      const d = deferred<boolean>();
      if (this.finished) d.resolve(false);
      return d;
    });
  }

  private phaseOf(ref: PhaseRef): Deferred<PhaseDone> {
    return getOr(this.phases, keyOf(ref), () => {
      const d = deferred<PhaseDone>();
      if (this.finished) d.resolve({ status: 'not-run', title: `${phaseLabel(ref)} (not run)` });
      return d;
    });
  }

  /**
   * Anything still waiting belongs to a step that will not run, or a run that ended without
   * saying how a phase ended (an error outside a phase command): a phase that had started shows
   * as stopped, the others as not run, so nothing still-running looks done.
   */
  private settleAll(): void {
    this.finished = true;
    for (const d of this.steps.values()) d.reject(new Error('not run'));
    for (const [key, d] of this.phases) {
      const label = labelOfKey(key);
      d.resolve(
        this.started.has(key)
          ? { status: 'failed', title: `${label} (stopped)` }
          : { status: 'not-run', title: `${label} (not run)` },
      );
    }
    for (const d of this.backupSlots.values()) d.resolve(false);
    this.backupDone.resolve({ ok: false, title: `backup stopped: ${this.backupLine}` });
  }

  async stop(): Promise<void> {
    this.settleAll();
    await this.running;
  }
}

function keyOf(ref: PhaseRef): string {
  return `${ref.release}\u0000${ref.phase}\u0000${ref.name}`;
}

function labelOfKey(key: string): string {
  const [release = '', phase = '', name = ''] = key.split('\u0000');
  return phaseLabel({ release, phase: phase as PhaseRef['phase'], name });
}

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
