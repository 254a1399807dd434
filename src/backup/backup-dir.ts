import { access, constants, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BadInputError } from '../errors/index.js';

/**
 * Creates the backup folder if needed and proves it writable, before anything runs: a backup
 * that cannot be written must stop the upgrade as bad input (exit 2), never halfway through it.
 */
export async function ensureBackupDir(dir: string): Promise<string> {
  const absolute = resolve(dir);
  try {
    await mkdir(absolute, { recursive: true });
    await access(absolute, constants.W_OK);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new BadInputError(`--backup-dir ${dir} cannot hold backups (${reason})`, {
      cause,
      hint: 'pass --backup-dir with a writable folder (it is created when missing); nothing ran',
      details: { backupDir: absolute },
    });
  }
  return absolute;
}
