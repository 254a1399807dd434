import { Listr, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import { formatDuration } from '../util/duration.js';
import type { PhaseRef, RunnerEvent } from '../runner/events.js';
import type { PhaseOutcomeStatus } from '../runner/run-result.js';
import { deferred, type Deferred } from './deferred.js';
import { CHECK_RESULT_NAMES, formatCount, formatProgress, phaseLabel } from './format.js';
import type { Renderer } from './renderer.js';

interface PhaseDone {
  status: PhaseOutcomeStatus;
  title: string;
}

type AnyTask = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

/**
 * The TTY view: a listr2 tree of steps and their phases, with a live progress line (rows done,
 * remaining, rows/s, ETA) under the data phase. listr2 drives tasks, the runner drives events,
 * so each task waits on a deferred that the events settle.
 */
export class ListrRenderer implements Renderer {
  private readonly steps = new Map<string, Deferred<readonly PhaseRef[]>>();
  private readonly stepDone = new Map<string, Deferred<string>>();
  private readonly phases = new Map<string, Deferred<PhaseDone>>();
  private readonly tasks = new Map<string, AnyTask>();
  private running: Promise<unknown> = Promise.resolve();
  private finished = false;

  onEvent(event: RunnerEvent): void {
    switch (event.type) {
      case 'run-started':
        this.start(event.pending);
        return;
      case 'step-started':
        this.stepOf(event.release).resolve(event.phases);
        return;
      case 'phase-started': {
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
        const task = this.tasks.get(keyOf(event));
        if (task) task.output = `${event.migration}: ${formatProgress(event)}`;
        return;
      }
      case 'check-result': {
        const task = this.tasks.get(keyOf(event));
        if (task) task.output = `${CHECK_RESULT_NAMES[event.result] ?? event.result}: ${event.check}${event.details ? ` — ${event.details}` : ''}`;
        return;
      }
      case 'phase-finished': {
        const rows = event.rowsMigrated === null ? '' : `, ${formatCount(event.rowsMigrated)} rows`;
        const why = event.message === null ? '' : ` — ${event.message}`;
        this.phaseOf(event).resolve({
          status: event.status,
          title: event.status === 'skipped' ? `${phaseLabel(event)} (already done)` : `${phaseLabel(event)} ${formatDuration(event.durationMs)}${rows}${why}`,
        });
        return;
      }
      case 'step-finished':
        this.stepDoneOf(event.result.release).resolve(`${event.result.release} ${event.result.status} in ${formatDuration(event.result.durationMs)}`);
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
          return task.newListr(
            phases.map((ref) => ({
              title: phaseLabel(ref),
              task: async (_c: unknown, phaseTask: AnyTask) => {
                this.tasks.set(keyOf(ref), phaseTask);
                const done = await this.phaseOf(ref).promise;
                phaseTask.title = done.title;
                if (done.status === 'skipped' || done.status === 'not-run') phaseTask.skip(done.title);
                else if (done.status !== 'succeeded') throw new Error(done.title);
              },
              rendererOptions: { persistentOutput: ref.phase === 'check' || ref.phase === 'preflight' },
            })),
            { concurrent: false, exitOnError: true },
          );
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
    this.running = list.run().catch(() => undefined);
  }

  private stepOf(release: string): Deferred<readonly PhaseRef[]> {
    return getOr(this.steps, release, () => {
      const d = deferred<readonly PhaseRef[]>();
      if (this.finished) d.reject(new Error('not run'));
      return d;
    });
  }

  private stepDoneOf(release: string): Deferred<string> {
    return getOr(this.stepDone, release, () => deferred<string>());
  }

  private phaseOf(ref: PhaseRef): Deferred<PhaseDone> {
    return getOr(this.phases, keyOf(ref), () => {
      const d = deferred<PhaseDone>();
      if (this.finished) d.resolve({ status: 'not-run', title: `${phaseLabel(ref)} (not run)` });
      return d;
    });
  }

  /** Anything still waiting belongs to a step that will not run: let listr2 finish. */
  private settleAll(): void {
    this.finished = true;
    for (const d of this.steps.values()) d.reject(new Error('not run'));
    for (const d of this.phases.values()) d.resolve({ status: 'not-run', title: 'not run' });
    for (const d of this.stepDone.values()) d.resolve('not run');
  }

  async stop(): Promise<void> {
    this.settleAll();
    await this.running;
  }
}

function keyOf(ref: PhaseRef): string {
  return `${ref.release}\u0000${ref.phase}\u0000${ref.name}`;
}

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
