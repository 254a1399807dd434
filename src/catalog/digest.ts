import { createHash } from 'node:crypto';

/** "sha256:<hex>", the one digest format of manifests, catalogs and plans. */
export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
