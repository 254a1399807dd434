import type { OutputMode } from './output-mode.js';
import { JsonRenderer } from './json-renderer.js';
import { PlainRenderer } from './plain-renderer.js';
import type { OutputSink, Renderer } from './renderer.js';

/** json for tools; listr2 on a terminal; plain lines otherwise. */
export async function createRenderer(mode: OutputMode, sink: OutputSink): Promise<Renderer> {
  if (mode === 'json') return new JsonRenderer(sink);
  // A terminal that reports no width (a pty with no window size) would get one character per
  // line from listr2: plain lines serve it better.
  if (sink.isTTY && (process.stdout.columns ?? 0) > 0) {
    const { ListrRenderer } = await import('./listr-renderer.js');
    return new ListrRenderer();
  }
  return new PlainRenderer(sink);
}
