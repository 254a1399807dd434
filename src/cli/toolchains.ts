import { Option, type Command } from 'commander';
import type { ToolchainEvent, InstallOutcome } from '../toolchains/install-toolchain.js';
import type { ToolchainState } from '../toolchains/toolchain-state.js';
import { nextCommand } from '../util/next-command.js';
import { action, type GlobalOptions } from './action.js';
import { durationArgument, withCatalog } from './common-options.js';

interface ToolchainsOptions {
  catalog: string;
}

interface InstallOptions extends ToolchainsOptions {
  release?: string;
  force?: boolean;
  timeout: number;
}

export function register(program: Command): void {
  const toolchains = program
    .command('toolchains')
    .description(
      "install and list the releases' toolchains: each release's local.install, run once in its folder (the process executor needs them)",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  leapfrog toolchains install\n  leapfrog toolchains install --release 2024.1\n  leapfrog toolchains list',
    );

  withCatalog(
    toolchains
      .command('install')
      .description(
        "run each release's local.install in its folder, with a clean environment (PATH, HOME, npm's settings; never a database URL); skipped while its marker matches the manifest",
      )
      .option('--release <release>', 'install only this release (default: every release of the catalog)')
      .option('--force', 'install again even where the marker is current')
      .addOption(
        new Option('--timeout <duration>', 'stop one install after this long (exit 1)')
          .argParser(durationArgument)
          .default(30 * 60_000, '30m'),
      )
      .addHelpText(
        'after',
        '\nExamples:\n  leapfrog toolchains install\n  leapfrog toolchains install --release 2024.1 --force',
      ),
  ).action(action<InstallOptions>(installCommand));

  withCatalog(
    toolchains
      .command('list')
      .description(
        "each release's install command and state: installed, stale (manifest changed: re-install), missing, not needed",
      )
      .addHelpText('after', '\nExamples:\n  leapfrog toolchains list\n  leapfrog toolchains list --output json'),
  ).action(action<ToolchainsOptions>(listCommand));
}

async function installCommand(options: InstallOptions & GlobalOptions): Promise<number> {
  const [{ loadCatalog }, { findRelease }, { installToolchains }, { leapfrogVersion }, { installSignalHandlers }] =
    await Promise.all([
      import('../catalog/load-catalog.js'),
      import('../catalog/find-release.js'),
      import('../toolchains/install-toolchain.js'),
      import('./leapfrog-version.js'),
      import('./signals.js'),
    ]);
  const catalog = await loadCatalog(options.catalog);
  const releases = options.release === undefined ? [...catalog.releases] : [findRelease(catalog, options.release)];
  using signals = installSignalHandlers();
  const json = options.output === 'json';
  const renderer = json ? jsonEvents : process.stderr.isTTY ? new StatusLine() : plainLines;
  let outcomes: InstallOutcome[];
  try {
    outcomes = await installToolchains({
      releases,
      force: options.force === true,
      signal: signals.signal,
      timeoutMs: options.timeout,
      leapfrogVersion: leapfrogVersion(),
      onEvent: (event) => renderer.onEvent(event),
    });
  } finally {
    renderer.end();
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ type: 'summary', toolchains: outcomes })}\n`);
    return 0;
  }
  const { textTable } = await import('./text-table.js');
  const said = { installed: 'installed', 'already-installed': 'already installed (skipped)', 'not-needed': '-' };
  const rows = [
    ['RELEASE', 'TOOLCHAIN', 'TIME'],
    ...outcomes.map((o) => [o.release, said[o.outcome], o.seconds === null ? '-' : `${o.seconds.toFixed(1)} s`]),
  ];
  const installed = outcomes.filter((o) => o.outcome === 'installed').length;
  process.stdout.write(
    `installed ${installed} toolchain${installed === 1 ? '' : 's'}\n\n${textTable(rows)}\n\nnext: ${nextCommand('toolchains list')}\n`,
  );
  return 0;
}

async function listCommand(options: ToolchainsOptions & GlobalOptions): Promise<number> {
  const [{ loadCatalog }, { toolchainStates, commandText }] = await Promise.all([
    import('../catalog/load-catalog.js'),
    import('../toolchains/toolchain-state.js'),
  ]);
  const catalog = await loadCatalog(options.catalog);
  const states = toolchainStates(catalog);
  if (options.output === 'json') {
    process.stdout.write(`${JSON.stringify({ type: 'summary', toolchains: states.map(jsonState) })}\n`);
    return 0;
  }
  const { textTable } = await import('./text-table.js');
  const said = {
    installed: 'installed',
    stale: 'STALE (manifest changed: re-install)',
    missing: 'MISSING',
    'not-needed': 'not needed',
  };
  const rows = [
    ['RELEASE', 'INSTALL', 'STATE', 'INSTALLED AT'],
    ...states.map((s) => [
      s.release,
      s.install === null ? '-' : commandText(s.install, 60),
      said[s.state],
      s.marker?.finishedAt.replace(/\.\d+Z$/, 'Z') ?? '-',
    ]),
  ];
  const todo = states.filter((s) => s.state === 'missing' || s.state === 'stale');
  const needed = states.filter((s) => s.state !== 'not-needed').length;
  const next =
    todo.length === 0
      ? nextCommand('apply', '--to', '<release>')
      : nextCommand('toolchains install', ...(todo.length === 1 ? ['--release', todo[0]?.release ?? ''] : []));
  process.stdout.write(
    `${needed - todo.length} of ${needed} toolchain${needed === 1 ? '' : 's'} installed\n\n${textTable(rows)}\n\nnext: ${next}\n`,
  );
  return 0;
}

function jsonState(s: ToolchainState) {
  return {
    release: s.release,
    install: s.install,
    state: s.state,
    installedAt: s.marker?.finishedAt ?? null,
    manifestDigest: s.marker?.manifestDigest ?? null,
    marker: s.markerPath,
  };
}

interface InstallRenderer {
  onEvent(event: ToolchainEvent): void;
  end(): void;
}

/** --output json: every event a JSON line on stdout (the summary or the error is the last). */
const jsonEvents: InstallRenderer = {
  onEvent: (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
  end: () => undefined,
};

/** Off a terminal: one plain line per event and per output line, on stderr (stdout is the summary's). */
const plainLines: InstallRenderer = {
  onEvent: (event) => {
    const line = describe(event);
    if (line !== null) process.stderr.write(`${line}\n`);
  },
  end: () => undefined,
};

function describe(event: ToolchainEvent): string | null {
  switch (event.type) {
    case 'toolchain-skipped':
      return event.state === 'installed'
        ? `${event.release}: already installed (marker current), skipped`
        : `${event.release}: nothing to install (no local.install)`;
    case 'toolchain-install-started':
      return `[${event.index}/${event.total}] ${event.release}: installing: ${event.commandText} (in ${event.dir})`;
    case 'toolchain-install-output':
      return `  ${event.release} | ${event.line}`;
    case 'toolchain-installed':
      return `${event.release}: installed in ${event.seconds.toFixed(1)} s`;
  }
}

/**
 * On a terminal: one status line per release, rewritten in place with the install's latest output
 * line (npm prints hundreds), and left as a one-line result. A failure's tail is in its error.
 */
class StatusLine implements InstallRenderer {
  #current: { release: string; heading: string } | null = null;

  onEvent(event: ToolchainEvent): void {
    if (event.type === 'toolchain-install-started') {
      this.#current = {
        release: event.release,
        heading: `[${event.index}/${event.total}] ${event.release}: installing`,
      };
      this.#draw(event.commandText);
    } else if (event.type === 'toolchain-install-output') {
      if (event.line.trim() !== '') this.#draw(event.line.trim());
    } else {
      this.#clear();
      this.#current = null;
      const line = describe(event);
      if (line !== null) process.stderr.write(`${line}\n`);
    }
  }

  end(): void {
    this.#clear();
  }

  #draw(latest: string): void {
    if (this.#current === null) return;
    const width = Math.max(20, (process.stderr.columns || 80) - 1);
    const text = `${this.#current.heading} | ${latest}`;
    process.stderr.write(`\r\u001b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
  }

  #clear(): void {
    if (this.#current !== null) process.stderr.write('\r\u001b[2K');
  }
}
