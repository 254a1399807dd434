import { z } from 'zod';

// A backup sidecar's zod schema, apart from backup-store.ts so that zod loads only when a sidecar
// is read (backup-store.ts imports it lazily): `step`/`apply` without a downgrade never load zod (issue 10).

export const sidecarSchema = z.strictObject({
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
