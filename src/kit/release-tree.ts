import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KitUsageError } from './kit-error.js';

/** One forward-only SQL migration: `migrations/NNNN_name.sql` of the release that introduced it. */
export interface SqlMigration {
  kind: 'sql';
  /** `<release>/<file>`: the key in the history table. */
  id: string;
  release: string;
  path: string;
  sql: string;
  checksum: string;
}

/**
 * A blocker (`migrations/NNNN_name.blocker.yaml`), like nova's: it fails while any of the named
 * data migrations still has rows to migrate, and retires them for this and later releases.
 */
export interface BlockerMigration {
  kind: 'blocker';
  id: string;
  release: string;
  path: string;
  requireFinished: readonly string[];
  checksum: string;
}

export type Migration = SqlMigration | BlockerMigration;

/** A batched data migration (`data/<name>.yaml`): keyset batches over `table` by `key`. */
export interface DataMigration {
  name: string;
  /** The release that introduced it; it runs in every later kit until a blocker retires it. */
  release: string;
  path: string;
  table: string;
  key: string;
  /** SQL predicate on `table` that is true for rows still to migrate. */
  pending: string;
  /** A data-modifying statement that migrates the rows of the CTE `batch(key, row_ctid)`. */
  apply: string;
}

/** A green-light assertion (`checks/<name>.sql`): one row of (result 0|1|2, details text). */
export interface ReleaseCheck {
  name: string;
  release: string;
  path: string;
  sql: string;
}

export interface ReleaseTree {
  release: string;
  /** Every release up to and including `release`, ascending. */
  releases: readonly string[];
  /** Every schema migration of those releases, in the order they apply. */
  migrations: readonly Migration[];
  /** Data migrations this release runs: introduced up to it and not retired by a blocker. */
  dataMigrations: readonly DataMigration[];
  /** Every data migration up to this release by name, retired ones included (blockers need them). */
  allDataMigrations: ReadonlyMap<string, DataMigration>;
  /** This release's own checks. */
  checks: readonly ReleaseCheck[];
}

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier');
const dataMigrationSchema = z.strictObject({
  table: identifier,
  key: identifier,
  pending: z.string().min(1),
  apply: z.string().min(1),
});
const blockerSchema = z.strictObject({ requireFinished: z.array(identifier).min(1) });

export function versionOf(release: string): string | undefined {
  return semver.coerce(release)?.version;
}

/**
 * Reads the release folders the way a tagged source tree holds them: the kit of release R sees
 * R and every earlier release in `sourcesDir`, each contributing only what it introduced.
 */
export async function loadReleaseTree(sourcesDir: string, release: string): Promise<ReleaseTree> {
  const target = versionOf(release);
  if (target === undefined || !existsSync(join(sourcesDir, release))) {
    throw new KitUsageError(
      `release "${release}" has no folder in ${sourcesDir}`,
      "run the kit through the release's bin/leapfrog-kit, which passes its own --release and --sources",
    );
  }
  const entries = await readdir(sourcesDir, { withFileTypes: true });
  const releases = entries
    .filter((e) => e.isDirectory())
    .map((e) => ({ id: e.name, version: versionOf(e.name) }))
    .filter((r): r is { id: string; version: string } => r.version !== undefined && semver.lte(r.version, target))
    .sort((a, b) => semver.compare(a.version, b.version))
    .map((r) => r.id);

  const migrations: Migration[] = [];
  const allDataMigrations = new Map<string, DataMigration>();
  const retiredBy = new Map<string, string>();
  for (const id of releases) {
    const dir = join(sourcesDir, id);
    for (const file of await listFiles(join(dir, 'data'), '.yaml')) {
      const dm = await readDataMigration(id, join(dir, 'data', file), file.replace(/\.yaml$/, ''));
      const earlier = allDataMigrations.get(dm.name);
      if (earlier !== undefined) {
        throw new KitUsageError(
          `data migration ${dm.name} is defined twice: ${earlier.path} and ${dm.path}`,
          'a data migration lives only in the release that introduced it; rename or remove the copy',
        );
      }
      allDataMigrations.set(dm.name, dm);
    }
    for (const file of await listFiles(join(dir, 'migrations'), '')) {
      const path = join(dir, 'migrations', file);
      const text = await readFile(path, 'utf8');
      const checksum = checksumOf(text);
      if (file.endsWith('.blocker.yaml')) {
        const spec = parseStrict(blockerSchema, text, path);
        for (const name of spec.requireFinished) {
          if (!allDataMigrations.has(name)) {
            throw new KitUsageError(
              `${path}: requireFinished names "${name}", which no release up to ${id} defines in data/`,
              'name a data migration of an earlier release (data/<name>.yaml)',
            );
          }
          retiredBy.set(name, id);
        }
        migrations.push({
          kind: 'blocker',
          id: `${id}/${file}`,
          release: id,
          path,
          requireFinished: spec.requireFinished,
          checksum,
        });
      } else if (file.endsWith('.sql')) {
        migrations.push({ kind: 'sql', id: `${id}/${file}`, release: id, path, sql: text, checksum });
      } else {
        throw new KitUsageError(
          `${path} is neither a .sql migration nor a .blocker.yaml`,
          'migrations/ holds NNNN_name.sql files and NNNN_name.blocker.yaml blockers only',
        );
      }
    }
  }

  const checks: ReleaseCheck[] = [];
  const ownDir = join(sourcesDir, release);
  for (const file of await listFiles(join(ownDir, 'checks'), '.sql')) {
    const path = join(ownDir, 'checks', file);
    const sql = await readFile(path, 'utf8');
    const title = /^--\s*check:\s*(.+)$/m.exec(sql)?.[1]?.trim();
    checks.push({ name: title ?? file.replace(/\.sql$/, ''), release, path, sql });
  }

  const dataMigrations = [...allDataMigrations.values()].filter((dm) => !retiredBy.has(dm.name));
  return { release, releases, migrations, dataMigrations, allDataMigrations, checks };
}

/** sha256 of the text with line endings normalised, so a checkout's autocrlf is not an "edit". */
export function checksumOf(text: string): string {
  return `sha256:${createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex')}`;
}

async function readDataMigration(release: string, path: string, name: string): Promise<DataMigration> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new KitUsageError(
      `${path}: the file name must be a lower-case identifier`,
      'rename it, e.g. data/backfill_orders_x.yaml',
    );
  }
  const spec = parseStrict(dataMigrationSchema, await readFile(path, 'utf8'), path);
  return { name, release, path, ...spec };
}

function parseStrict<T>(schema: z.ZodType<T>, text: string, path: string): T {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new KitUsageError(`${path} is not valid YAML: ${(cause as Error).message}`, `fix the YAML in ${path}`, {
      cause,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new KitUsageError(`${path}: ${problems}`, `fix ${path} (see docs/release-kit.md for the format)`);
  }
  return parsed.data;
}

async function listFiles(dir: string, suffix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(suffix) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}
