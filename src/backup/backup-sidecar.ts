import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors/index.js';
import type { BackupRecord } from './backup-record.js';

/** Next to every dump: `<dump>.leapfrog.json`. Found by `backups` and verified by `restore`. */
export const SIDECAR_SUFFIX = '.leapfrog.json';
/** A dump (or sidecar) still being written: never a finished backup. */
export const PARTIAL_SUFFIX = '.partial';

const sidecarSchema = z.strictObject({
  // 2 adds the database identity; 1 (before it) is still read: such a backup belongs to no
  // database known to leapfrog, see database-identity.ts.
  leapfrogBackup: z.union([z.literal(1), z.literal(2)]),
  id: z.string().min(1),
  release: z.string().nullable(),
  version: z.string().nullable(),
  // Relative to the sidecar's folder, so that a backup folder can be moved or copied whole.
  file: z.string().min(1),
  format: z.enum(['custom', 'directory']),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  durationMs: z.number().nonnegative(),
  createdAt: z.string().min(1),
  runId: z.string().nullable(),
  database: z.string(),
  databaseId: z.string().nullable().optional(),
  systemIdentifier: z.string().nullable().optional(),
  databaseName: z.string().nullable().optional(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
});

export function sidecarPathOf(backupPath: string): string {
  return `${backupPath.replace(/\/+$/, '')}${SIDECAR_SUFFIX}`;
}

/**
 * Writes the sidecar whole or not at all: into a temporary file, renamed into place. A disk that
 * fills halfway leaves no empty or truncated sidecar behind (the temporary file is removed).
 */
export async function writeSidecar(record: BackupRecord): Promise<string> {
  const path = sidecarPathOf(record.path);
  const { path: absolute, ...rest } = record;
  const body = { leapfrogBackup: 2, ...rest, file: basename(absolute) };
  const temporary = `${path}.${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;
  try {
    await writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  return path;
}

/** The sidecar of a backup path (or the sidecar itself); undefined when there is none. */
export async function readSidecar(pathOrSidecar: string): Promise<BackupRecord | undefined> {
  const sidecar = pathOrSidecar.endsWith(SIDECAR_SUFFIX) ? pathOrSidecar : sidecarPathOf(pathOrSidecar);
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BadInputError(`${sidecar} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
      hint: 'fix its permissions or restore it from a copy, or pass --sha256 HEX to restore without it',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new BadInputError(`${sidecar} is not valid JSON`, { cause, hint: `restore it from a copy, or pass --sha256 HEX to restore without it` });
  }
  const parsed = sidecarSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BadInputError(`${sidecar}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`, {
      hint: 'the file is not a leapfrog backup sidecar; restore it from a copy, or pass --sha256 HEX',
    });
  }
  const { leapfrogBackup: _v, file, databaseId, systemIdentifier, databaseName, ...rest } = parsed.data;
  const path = isAbsolute(file) ? file : resolve(dirname(sidecar), file);
  return { ...rest, databaseId: databaseId ?? null, systemIdentifier: systemIdentifier ?? null, databaseName: databaseName ?? null, path };
}

/** A sidecar in the backup folder that does not describe a usable backup, and why. */
export interface SkippedSidecar {
  sidecar: string;
  reason: string;
}

export interface SidecarListing {
  /** Newest first. */
  records: BackupRecord[];
  /** Reported as warnings and skipped: one broken file must not hide every other backup. */
  skipped: SkippedSidecar[];
}

/** Every backup whose sidecar is in `dir` and whose dump is there too; a missing folder has none. */
export async function listSidecars(dir: string): Promise<SidecarListing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: [] };
    throw error;
  }
  const records: BackupRecord[] = [];
  const skipped: SkippedSidecar[] = [];
  for (const name of names.filter((n) => n.endsWith(SIDECAR_SUFFIX))) {
    const sidecar = join(dir, name);
    let record: BackupRecord | undefined;
    try {
      record = await readSidecar(sidecar);
    } catch (error) {
      skipped.push({ sidecar, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (record === undefined) continue;
    if ((await stat(record.path).catch(() => undefined)) === undefined) {
      // The sidecar is written before the dump gets its final name, so a run stopped between
      // the two leaves the sidecar and `<dump>.partial`: an unfinished backup, never a way back.
      const unfinished = (await stat(`${record.path}${PARTIAL_SUFFIX}`).catch(() => undefined)) !== undefined;
      skipped.push({
        sidecar,
        reason: unfinished
          ? `unfinished backup (leapfrog stopped while writing it): remove ${sidecar} and ${record.path}${PARTIAL_SUFFIX}`
          : `its dump ${record.path} is missing`,
      });
      continue;
    }
    records.push(record);
  }
  return { records: records.sort((a, b) => b.createdAt.localeCompare(a.createdAt)), skipped };
}

/** One warning line per skipped sidecar, for the verbs to print. */
export function skippedSidecarLine(skipped: SkippedSidecar): string {
  return `warning: skipped ${skipped.sidecar}: ${skipped.reason}`;
}
