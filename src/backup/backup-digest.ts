import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupFormat } from './backup-record.js';

export interface BackupDigest {
  sha256: string;
  bytes: number;
}

/**
 * sha256 of a custom-format dump, or of a directory-format dump as the sorted lines
 * `<file name> <sha256 of file>\n`, so that a renamed, missing, extra or altered file all
 * change the digest. `sha256sum` of the file gives the same value for the custom format.
 */
export async function digestBackup(path: string, format: BackupFormat): Promise<BackupDigest> {
  if (format === 'custom') return digestFile(path);
  const names = (await readdir(path)).sort();
  const outer = createHash('sha256');
  let bytes = 0;
  for (const name of names) {
    const file = await digestFile(join(path, name));
    outer.update(`${name} ${file.sha256}\n`);
    bytes += file.bytes;
  }
  return { sha256: outer.digest('hex'), bytes };
}

async function digestFile(path: string): Promise<BackupDigest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(path)).size };
}
