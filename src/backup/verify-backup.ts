import { stat } from 'node:fs/promises';
import { BadInputError } from '../errors/index.js';
import { digestBackup } from './backup-digest.js';
import type { LocatedBackup } from './locate-backup.js';
import { nextCommand } from '../util/next-command.js';

/**
 * A restore from a truncated or altered dump fails halfway, or worse, succeeds with missing
 * rows. The digest recorded when the backup was taken is checked before the target is touched.
 */
export async function verifyBackup(backup: LocatedBackup, expectedSha256: string | undefined): Promise<string> {
  const expected = (expectedSha256 ?? backup.record?.sha256)?.toLowerCase();
  if (expected === undefined) {
    throw new BadInputError(`${backup.path} has no sidecar (${backup.path}.leapfrog.json), so its sha256 cannot be verified`, {
      hint: `pass --sha256 HEX with the digest from \`${nextCommand('backups')}\` (the ledger also lists it)`,
    });
  }
  const info = await stat(backup.path).catch(() => undefined);
  if (!info) {
    throw new BadInputError(`the backup ${backup.path} named by its sidecar does not exist`, {
      hint: `copy the dump back next to its sidecar, or list the backups with \`${nextCommand('backups')}\``,
    });
  }
  const actual = await digestBackup(backup.path, backup.format);
  if (actual.sha256 !== expected) {
    throw new BadInputError(
      `the backup ${backup.path} is corrupted: its sha256 is ${actual.sha256}, but ${expected} was recorded when it was taken; nothing was restored`,
      {
        hint: `restore an intact copy of this backup, or choose an older one from \`${nextCommand('backups')}\``,
        details: { path: backup.path, expected, actual: actual.sha256 },
      },
    );
  }
  return actual.sha256;
}
