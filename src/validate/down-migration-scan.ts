import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { Release } from '../catalog/release.js';
import { logger } from '../util/logger.js';
import type { ValidationProblem } from './validation-problem.js';

const log = logger('validate');

/**
 * The Glance "no downgrade" spec's test, for every release folder: leapfrog is forward-only
 * and the way back is a backup, so a down migration shipped in a release is a mistake (it
 * invites an operator to run it, and data migrations cannot be reversed). Flags:
 * - files named with a down/downgrade/rollback word (`0003_x.down.sql`, `rollback.sql`);
 * - down functions and markers inside migration sources (`def downgrade(`, `exports.down`,
 *   `-- +migrate Down`, `-- migrate:down`, SQL functions named for a downgrade or rollback);
 * - manifest commands that ask for a downgrade (`nova-manage db downgrade`).
 * Words are matched whole (`shutdown`, `download`, `markdown` are not down migrations) and
 * plain `ROLLBACK;` statements are transaction control, not migrations.
 */
const DOWN_WORDS = new Set(['down', 'downs', 'downgrade', 'downgrades', 'rollback', 'rollbacks']);
const SKIP_DIRS = new Set(['node_modules', '.git', '__pycache__', '.venv', 'venv']);
const TEXT_EXTENSIONS = new Set([
  '',
  '.sql',
  '.py',
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.mts',
  '.yaml',
  '.yml',
  '.sh',
  '.rb',
  '.go',
  '.json',
  '.txt',
  '.cfg',
  '.ini',
]);
const MAX_TEXT_BYTES = 2 * 1024 * 1024;

const CONTENT_PATTERNS: readonly { pattern: RegExp; what: string }[] = [
  { pattern: /^\s*def\s+(?:downgrade|down)\w*\s*\(/, what: 'a Python downgrade function' },
  { pattern: /\bexports\.down\b|\bmodule\.exports\.down\b/, what: 'a JavaScript down migration' },
  {
    pattern: /^\s*(?:export\s+)?(?:async\s+)?(?:function\s+)?down\s*\([^)]*\)\s*(?::\s*[\w<>[\]]+\s*)?\{/,
    what: 'a down migration function',
  },
  { pattern: /^\s*down\s*:\s*(?:async\s*)?(?:function\b|\()/, what: 'a down migration function' },
  { pattern: /^\s*--\s*\+(?:migrate|goose)\s+down\b/i, what: 'a down migration section' },
  { pattern: /^\s*--\s*migrate:down\b/i, what: 'a down migration section (dbmate)' },
  {
    pattern: /\bcreate\s+(?:or\s+replace\s+)?(?:function|procedure)\s+[\w."]*(?:downgrade|rollback)[\w"]*\s*\(/i,
    what: 'an SQL function named for a downgrade',
  },
  { pattern: /^\s*(?:down|downgrade|rollback)\s*:/i, what: 'a down migration key' },
];

/** Lower-case words of a name: split on punctuation and camelCase (`downgradeV2` -> downgrade, v2). */
export function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

export function isDownName(name: string): boolean {
  return wordsOf(name).some((w) => DOWN_WORDS.has(w));
}

/** Lines of a migration source that define a down migration, with what each is. */
export function downMigrationLines(text: string): { line: number; what: string }[] {
  const hits: { line: number; what: string }[] = [];
  text.split('\n').forEach((line, i) => {
    const hit = CONTENT_PATTERNS.find((p) => p.pattern.test(line));
    if (hit) hits.push({ line: i + 1, what: hit.what });
  });
  return hits;
}

export interface ScanTarget {
  /** The release folder. */
  dir: string;
  /** How the folder's files are shown (relative to the cwd when possible). */
  shownDir: string;
  /** The parsed release, when its manifest is valid: its commands are checked too. */
  release?: Release;
}

export async function scanForDownMigrations(targets: readonly ScanTarget[]): Promise<ValidationProblem[]> {
  const problems: ValidationProblem[] = [];
  for (const target of targets) {
    for (const file of await filesUnder(target.dir)) {
      const rel = relative(target.dir, file);
      const shown = join(target.shownDir, rel);
      const name = rel.split('/').pop() ?? rel;
      if (rel.split('/').some((part) => isDownName(part))) {
        problems.push({
          check: 'down-migrations',
          file: shown,
          where: '',
          message:
            'named as a down/downgrade/rollback migration; releases are forward-only (restore a backup instead), so remove it',
        });
        continue;
      }
      if (name === 'release.yaml' || !TEXT_EXTENSIONS.has(extname(name).toLowerCase())) continue;
      const info = await stat(file);
      if (info.size > MAX_TEXT_BYTES) continue;
      const text = await readFile(file, 'utf8');
      // A bundled program is not a migration source: only scan what people wrote.
      if (text.startsWith('#!') && text.length > 200_000) continue;
      for (const hit of downMigrationLines(text)) {
        problems.push({
          check: 'down-migrations',
          file: shown,
          where: `line ${hit.line}`,
          message: `${hit.what}; releases are forward-only (restore a backup instead), so remove it`,
        });
      }
    }
    if (target.release) problems.push(...downCommands(target.release));
  }
  return problems;
}

function downCommands(release: Release): ValidationProblem[] {
  const commands: { where: string; run: readonly string[] }[] = [];
  const { phases } = release;
  if (phases.preflight?.run) commands.push({ where: 'phases.preflight.run', run: phases.preflight.run });
  phases.schema.forEach((s, i) => commands.push({ where: `phases.schema[${i}].run`, run: s.run }));
  if (phases.data?.run) commands.push({ where: 'phases.data.run', run: phases.data.run });
  if (phases.check?.run) commands.push({ where: 'phases.check.run', run: phases.check.run });
  return commands
    .filter((c) => c.run.some((arg) => wordsOf(arg).some((w) => DOWN_WORDS.has(w) && w !== 'down')))
    .map((c) => ({
      check: 'down-migrations' as const,
      file: release.file,
      where: c.where,
      message: `runs a downgrade (${c.run.join(' ')}); leapfrog never runs one: the way back is \`leapfrog restore\``,
    }));
}

async function filesUnder(dir: string, depth = 0): Promise<string[]> {
  if (depth > 8) return [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    log.suppressed(`listing ${dir} for down migrations`, error);
    return [];
  });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...(await filesUnder(path, depth + 1)));
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      files.push(path);
    }
  }
  return files;
}
