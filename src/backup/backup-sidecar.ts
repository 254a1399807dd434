import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors/index.js';
import type { BackupRecord } from './backup-record.js';

/** Next to every dump: `<dump>.leapfrog.json`. Found by `backups` and verified by `restore`. */
export const SIDECAR_SUFFIX = '.leapfrog.json';

const sidecarSchema = z.strictObject({
  leapfrogBackup: z.literal(1),
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
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
});

export function sidecarPathOf(backupPath: string): string {
  return `${backupPath.replace(/\/+$/, '')}${SIDECAR_SUFFIX}`;
}

export async function writeSidecar(record: BackupRecord): Promise<string> {
  const path = sidecarPathOf(record.path);
  const { path: absolute, ...rest } = record;
  const body = { leapfrogBackup: 1, ...rest, file: basename(absolute) };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
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
    throw error;
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
  const { leapfrogBackup: _v, file, ...rest } = parsed.data;
  const path = isAbsolute(file) ? file : resolve(dirname(sidecar), file);
  return { ...rest, path };
}

/** Every backup whose sidecar is in `dir`, newest first; a missing folder has none. */
export async function listSidecars(dir: string): Promise<BackupRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: BackupRecord[] = [];
  for (const name of names.filter((n) => n.endsWith(SIDECAR_SUFFIX))) {
    const record = await readSidecar(join(dir, name));
    if (record) records.push(record);
  }
  return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
