import type { Release } from '../../src/catalog/release.js';
import type { PhaseExecutor, PhaseRunOptions, PhaseRunResult } from '../../src/executors/phase-executor.js';

export interface FakeCall {
  release: string;
  phase: string;
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
}

/** What one invocation does: an exit code and the lines it prints (stdout). */
export interface FakeScript {
  exitCode: number | null;
  lines?: readonly string[];
  timedOut?: boolean;
  /** Wait for the signal, then resolve as aborted (simulates SIGINT during the command). */
  waitForAbort?: boolean;
}

export type FakeBehaviour = (call: FakeCall, nth: number) => FakeScript;

/**
 * A recording PhaseExecutor for runner unit tests: every call is kept; `behaviour` decides the
 * exit code and output, so a test can fail any chosen phase.
 */
export class FakeExecutor implements PhaseExecutor {
  readonly kind = 'process';
  readonly calls: FakeCall[] = [];
  prepared: string[] = [];

  constructor(private readonly behaviour: FakeBehaviour = () => ({ exitCode: 0 })) {}

  prepare(releases: readonly Release[]): Promise<void> {
    this.prepared = releases.map((r) => r.id);
    return Promise.resolve();
  }

  async run(command: readonly string[], options: PhaseRunOptions): Promise<PhaseRunResult> {
    const call: FakeCall = {
      release: options.release.id,
      phase: options.phase,
      command,
      env: options.env,
      timeoutMs: options.timeoutMs,
    };
    this.calls.push(call);
    const nth = this.calls.filter(
      (c) => c.release === call.release && c.phase === call.phase && c.command.join(' ') === command.join(' '),
    ).length;
    const script = this.behaviour(call, nth);
    for (const line of script.lines ?? []) options.onLine(line, 'stdout');
    if (script.waitForAbort) {
      await new Promise<void>((resolve) => {
        if (options.signal.aborted) resolve();
        else options.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      return { exitCode: null, timedOut: false, aborted: true, durationMs: 1, outputTail: [...(script.lines ?? [])] };
    }
    return {
      exitCode: script.exitCode,
      timedOut: script.timedOut ?? false,
      aborted: false,
      durationMs: 1,
      outputTail: [...(script.lines ?? [])],
    };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
