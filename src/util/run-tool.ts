import { spawn } from 'node:child_process';

/** What a finished tool run gives back: its exit code (null when killed or never started). */
export interface ToolResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run or was killed (ENOENT, the timeout), when it did not exit by itself. */
  error: Error | null;
}

export interface RunToolOptions {
  /** Added to leapfrog's own environment (pg_dump and pg_restore need PATH, HOME, locale). */
  env?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}

/** Output kept per stream: tools that print more (a verbose pg_restore) keep their end. */
const KEEP = 256 * 1024;

/**
 * Runs one of the PostgreSQL client tools (pg_dump, pg_restore, `--version`) to completion and
 * collects its output. node:child_process rather than execa: these run on the path of every
 * step/apply, and execa costs ~80 ms CPU to load (docs/benchmarks.md). Never rejects: the caller
 * turns a failure into its own domain error.
 */
export function runTool(bin: string, args: readonly string[], options: RunToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let error: Error | null = null;
    const child = spawn(bin, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (text: string, chunk: Buffer) => (text + chunk.toString('utf8')).slice(-KEEP);
    child.stdout.on('data', (chunk: Buffer) => (stdout = keep(stdout, chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr = keep(stderr, chunk)));
    const timer =
      options.timeoutMs === undefined
        ? null
        : setTimeout(() => {
            error = new Error(`${bin} did not finish within ${options.timeoutMs} ms`);
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (cause) => {
      error = cause;
    });
    child.on('close', (code) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ exitCode: error === null ? code : null, stdout, stderr, error });
    });
  });
}
