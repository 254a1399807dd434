import { redactKnown } from './secrets.js';

/**
 * The debug logger: one line per side effect (a connection, a query that changes state, a child
 * process, a container, a file written) and every cleanup error that was suppressed so that it
 * would not hide the first one. Off by default; on with `--verbose` or `LEAPFROG_DEBUG=1`
 * (`LEAPFROG_DEBUG=ledger,backup` limits it to those scopes). Lines go to stderr, so stdout stays
 * the renderer's (JSON lines for tools), and pass through the registered secrets' redaction.
 */
export interface Logger {
  readonly enabled: boolean;
  // Function-typed properties, not methods: they are safe to pass around unbound.
  readonly debug: (message: string) => void;
  /** A suppressed error: logged with its message and cause chain, never thrown. */
  readonly suppressed: (what: string, error: unknown) => void;
  readonly child: (scope: string) => Logger;
}

type Sink = (line: string) => void;

let sink: Sink = (line) => process.stderr.write(line);
let scopes: ReadonlySet<string> | 'all' | 'none' = parseScopes(process.env['LEAPFROG_DEBUG']);
const started = performance.now();

function parseScopes(value: string | undefined): ReadonlySet<string> | 'all' | 'none' {
  if (value === undefined || value === '' || value === '0' || value === 'false') return 'none';
  if (value === '1' || value === 'true' || value === '*' || value === 'all') return 'all';
  return new Set(
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

/** `--verbose`: everything, whatever LEAPFROG_DEBUG says. */
export function enableDebugLogging(): void {
  scopes = 'all';
}

/** For tests: capture lines instead of writing to stderr. Returns a function that restores. */
export function captureDebugLog(capture: Sink, enable: string = '1'): () => void {
  const before = { sink, scopes };
  sink = capture;
  scopes = parseScopes(enable);
  return () => {
    sink = before.sink;
    scopes = before.scopes;
  };
}

/** A scope is on when it or any parent is named: `executor` covers `executor:docker`, and `executor:process` only itself. */
function isEnabled(scope: string): boolean {
  if (scopes === 'none') return false;
  if (scopes === 'all') return true;
  const parts = scope.split(':');
  for (let n = 1; n <= parts.length; n += 1) if (scopes.has(parts.slice(0, n).join(':'))) return true;
  return false;
}

export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    parts.push(
      current instanceof Error
        ? `${current.name}: ${current.message}`
        : typeof current === 'string'
          ? current
          : JSON.stringify(current),
    );
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ');
}

export function logger(scope: string): Logger {
  // Closures, not `this`: callers pass `log.suppressed` around as a callback.
  const debug = (message: string): void => {
    if (!isEnabled(scope)) return;
    const ms = Math.round(performance.now() - started);
    sink(`leapfrog[debug] +${ms}ms ${scope}: ${redactKnown(message)}\n`);
  };
  return {
    get enabled() {
      return isEnabled(scope);
    },
    debug,
    suppressed: (what, error) => {
      if (!isEnabled(scope)) return;
      debug(`suppressed while ${what}: ${describeError(error)}`);
    },
    child: (sub) => logger(`${scope}:${sub}`),
  };
}
