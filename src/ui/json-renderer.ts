import type { RunnerEvent } from '../runner/events.js';
import type { OutputSink, Renderer } from './renderer.js';

/**
 * `--output json`: one JSON object per line on stdout, one per runner event; the verb adds the
 * final summary line. Lines are redacted before they reach the runner's events.
 */
export class JsonRenderer implements Renderer {
  constructor(private readonly sink: OutputSink) {}

  onEvent(event: RunnerEvent): void {
    this.sink.out(`${JSON.stringify(event)}\n`);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
