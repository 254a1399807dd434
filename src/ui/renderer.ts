import type { RunnerEvent } from '../runner/events.js';

/** Turns runner events into output for people or tools. `stop` flushes and never throws. */
export interface Renderer {
  onEvent(event: RunnerEvent): void;
  stop(): Promise<void>;
}

/** Where output goes; the CLI passes process streams, the tests and the demo may pass their own. */
export interface OutputSink {
  out(text: string): void;
  err(text: string): void;
  /** True when `out` is a terminal that can redraw (listr2). */
  isTTY: boolean;
}

export const processSink: OutputSink = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY && process.env['CI'] === undefined && process.env['TERM'] !== 'dumb';
  },
};
