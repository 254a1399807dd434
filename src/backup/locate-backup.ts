import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BadInputError } from '../errors/index.js';
import type { BackupFormat, BackupRecord } from './backup-record.js';
import { listSidecars, readSidecar, SIDECAR_SUFFIX } from './backup-sidecar.js';
import { nextCommand } from '../util/next-command.js';

export interface LocatedBackup {
  path: string;
  format: BackupFormat;
  /** From the sidecar next to the dump; undefined when the dump came without one. */
  record: BackupRecord | undefined;
}

/**
 * `restore` accepts a dump file, a dump folder, its sidecar, or a backup id from
 * `leapfrog backups` (looked up in --backup-dir), because operators copy whichever they see.
 */
export async function locateBackup(ref: string, backupDir: string): Promise<LocatedBackup> {
  if (ref.endsWith(SIDECAR_SUFFIX)) {
    const record = await readSidecar(ref);
    if (record) return { path: record.path, format: record.format, record };
  }
  const asPath = resolve(ref);
  const info = await stat(asPath).catch(() => undefined);
  if (info) {
    const record = await readSidecar(asPath);
    return { path: asPath, format: info.isDirectory() ? 'directory' : 'custom', record };
  }
  const byId = (await listSidecars(backupDir)).records.find((r) => r.id === ref);
  if (byId) return { path: byId.path, format: byId.format, record: byId };
  throw new BadInputError(`no backup "${ref}": it is neither a file, a folder, nor a backup id in ${join(resolve(backupDir))}`, {
    hint: `list the backups with \`${nextCommand('backups')}\` and pass one of their paths`,
  });
}
