import { resolve } from 'node:path';
import type { BackupSettings } from './take-backup.js';
import { resolvePgTools } from './pg-tools.js';

export interface BackupFlags {
  backupDir: string;
  backupJobs?: number;
  pgBin?: string;
}

/**
 * The CLI flags to settings. `--backup-jobs N` (N > 1) selects pg_dump's directory format,
 * the only one it can write in parallel; otherwise one custom-format file (see
 * docs/benchmarks.md for why that is the default).
 */
export async function backupSettingsFrom(flags: BackupFlags): Promise<BackupSettings> {
  const jobs = flags.backupJobs ?? 1;
  return {
    dir: resolve(flags.backupDir),
    format: jobs > 1 ? 'directory' : 'custom',
    jobs,
    tools: await resolvePgTools(flags.pgBin),
  };
}
