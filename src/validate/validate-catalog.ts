import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CatalogError } from '../catalog/catalog-error.js';
import { CATALOG_FILE, displayPath, loadCatalog, MANIFEST_FILE } from '../catalog/load-catalog.js';
import type { Catalog } from '../catalog/release.js';
import { LeapfrogError } from '../errors/index.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import { logger } from '../util/logger.js';
import { scanForDownMigrations, type ScanTarget } from './down-migration-scan.js';
import { milestoneProblems, reachabilityProblems, yankedProblems } from './graph-checks.js';
import { pathMatrix, type PairPath } from './path-matrix.js';
import type { ValidationCase } from './validation-case.js';
import type { ValidationProblem } from './validation-problem.js';

const log = logger('validate');

export interface ValidateOptions {
  catalogDir: string;
  /** Saved plans to check for yanked stops; a missing folder is fine. */
  plansDir: string;
}

export interface ValidationReport {
  catalog: string;
  /** Undefined when the manifests did not lint: the graph checks then could not run. */
  loaded: Catalog | undefined;
  releases: string[];
  problems: ValidationProblem[];
  pairs: PairPath[];
  cases: ValidationCase[];
}

/**
 * Every static check at once, so one run lists everything to fix: lint (the loader collects
 * all manifest problems), the down-migration scan (even when lint failed: it reads folders,
 * not manifests), then the graph, milestone and yanked checks over the loaded catalog.
 */
export async function validateCatalog(options: ValidateOptions): Promise<ValidationReport> {
  const root = resolve(options.catalogDir);
  const cases: ValidationCase[] = [];
  const problems: ValidationProblem[] = [];
  const timed = <T>(fn: () => T): [T, number] => {
    const start = performance.now();
    const value = fn();
    return [value, performance.now() - start];
  };

  let catalog: Catalog | undefined;
  const lintStart = performance.now();
  let lint: ValidationProblem[] = [];
  try {
    catalog = await loadCatalog(root);
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    lint = error.problems.map((p) => ({ check: 'lint' as const, file: p.file, where: p.path, message: p.message }));
  }
  problems.push(...lint);
  const folders = await releaseFolders(root);
  const lintMs = (performance.now() - lintStart) / Math.max(1, folders.length);
  for (const folder of folders) {
    const file = displayPath(join(folder, MANIFEST_FILE));
    cases.push({
      check: 'lint',
      name: file,
      failures: lint.filter((p) => p.file === file).map(message),
      timeMs: lintMs,
    });
  }
  // catalog.yaml's defaults are linted as a file of their own (their problems name it).
  const catalogFile = displayPath(join(root, CATALOG_FILE));
  if (await stat(join(root, CATALOG_FILE)).catch(() => undefined)) {
    cases.push({
      check: 'lint',
      name: catalogFile,
      failures: lint.filter((p) => p.file === catalogFile).map(message),
      timeMs: lintMs,
    });
  }
  const unplaced = lint.filter(
    (p) => p.file !== catalogFile && !folders.some((f) => displayPath(join(f, MANIFEST_FILE)) === p.file),
  );
  if (unplaced.length > 0)
    cases.push({ check: 'lint', name: displayPath(root), failures: unplaced.map(message), timeMs: 0 });

  const byDir = new Map(catalog?.releases.map((r) => [r.dir, r]) ?? []);
  for (const folder of folders) {
    const target: ScanTarget = { dir: folder, shownDir: displayPath(folder) };
    const release = byDir.get(folder);
    if (release) target.release = release;
    const start = performance.now();
    const found = await scanForDownMigrations([target]);
    problems.push(...found);
    cases.push({
      check: 'down-migrations',
      name: displayPath(folder),
      failures: found.map(message),
      timeMs: performance.now() - start,
    });
  }

  let pairs: PairPath[] = [];
  if (catalog !== undefined) {
    const loaded = catalog;
    let matrixMs: number;
    [pairs, matrixMs] = timed(() => pathMatrix(loaded));
    const reach = reachabilityProblems(loaded, pairs);
    problems.push(...reach);
    for (const pair of pairs) {
      cases.push({
        check: 'graph',
        name: `${pair.from} -> ${pair.to}`,
        failures: pair.steps === null && pair.newLineage === null ? [pair.error ?? 'no path'] : [],
        timeMs: matrixMs / Math.max(1, pairs.length),
        output:
          pair.newLineage !== null
            ? `${pair.to} is in the lineage ${pair.newLineage} starts: install it fresh, copy the data, baseline`
            : pair.steps === null
              ? ''
              : `${pair.from} -> ${pair.steps.join(' -> ')}`,
      });
    }
    const [milestones, milestonesMs] = timed(() => milestoneProblems(loaded));
    problems.push(...milestones);
    for (const release of loaded.releases) {
      cases.push({
        check: 'milestones',
        name: release.file,
        failures: milestones.filter((p) => p.file === release.file).map(message),
        timeMs: milestonesMs / loaded.releases.length,
      });
    }
    const plans = await savedPlans(options.plansDir);
    const [yanked, yankedMs] = timed(() => yankedProblems(loaded, plans));
    problems.push(...yanked);
    cases.push({ check: 'yanked', name: 'no yanked targets', failures: yanked.map(message), timeMs: yankedMs });
  }

  return {
    catalog: displayPath(root),
    loaded: catalog,
    releases: catalog?.releases.map((r) => r.id) ?? [],
    problems,
    pairs,
    cases,
  };
}

function message(p: ValidationProblem): string {
  return `${p.file}${p.where === '' ? '' : `: ${p.where}`}: ${p.message}`;
}

async function releaseFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const folders: string[] = [];
  for (const entry of entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, entry.name);
    // A folder without a release.yaml is not a release (docs, shared scripts): skipped, said in the log.
    const manifest = join(dir, MANIFEST_FILE);
    if (await stat(manifest).catch((error: unknown) => log.suppressed(`looking for ${manifest}`, error)))
      folders.push(dir);
  }
  return folders;
}

/** Plans in the plans folder, as their stops; unreadable ones are skipped (plan checks own them). */
async function savedPlans(dir: string): Promise<{ file: string; steps: string[] }[]> {
  const names = await readdir(dir).catch((error: unknown) => {
    log.suppressed(`listing saved plans in ${dir}`, error);
    return [] as string[];
  });
  const plans: { file: string; steps: string[] }[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(dir, name);
    try {
      const plan = await readPlanFile(file);
      plans.push({ file: displayPath(file), steps: [...plan.steps.map((s) => s.release)] });
    } catch (error) {
      if (!(error instanceof LeapfrogError)) throw error;
      log.suppressed(`reading the saved plan ${file} (the plan checks report it)`, error);
    }
  }
  return plans;
}
