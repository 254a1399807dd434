import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from './phase-executor.js';

/**
 * Turns chunks of a byte stream into whole lines. A chunk may end inside a line or inside a
 * multi-byte character; both are carried over to the next chunk, and flush() emits the rest.
 * Lines end at "\n"; a "\r" before it is dropped (CRLF output), a lone "\r" is kept.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  flush(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#onLine(rest);
  }
}

/** Lines longer than this are cut in the tail (the ledger row and error messages), not in onLine. */
const TAIL_LINE_CHARS = 2000;

/**
 * A phase command's output as both executors see it: stdout and stderr chunks in, whole lines
 * out (to `onLine`, as they arrive), and the last `size` lines of both streams kept for the
 * ledger and error messages.
 */
export class OutputLines {
  readonly #tail: string[] = [];
  readonly #size: number;
  readonly #splitters: Record<OutputStream, LineSplitter>;

  constructor(onLine: (line: string, stream: OutputStream) => void, size = 50) {
    this.#size = size;
    const forward = (stream: OutputStream) => (line: string) => {
      this.#keep(line);
      onLine(line, stream);
    };
    this.#splitters = { stdout: new LineSplitter(forward('stdout')), stderr: new LineSplitter(forward('stderr')) };
  }

  write(stream: OutputStream, chunk: Buffer | string): void {
    this.#splitters[stream].push(chunk);
  }

  /** Both streams ended: emits their last lines that had no newline. */
  end(): void {
    this.#splitters.stdout.flush();
    this.#splitters.stderr.flush();
  }

  tail(): string[] {
    return [...this.#tail];
  }

  #keep(line: string): void {
    this.#tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line);
    if (this.#tail.length > this.#size) this.#tail.shift();
  }
}
