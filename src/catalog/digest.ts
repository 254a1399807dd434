import { createHash } from 'node:crypto';

/** "sha256:<hex>", the one digest format of manifests, catalogs and plans. */
export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * A release's manifest digest: what its plan steps pin and its cache entry is found by. Without a
 * catalog.yaml it is the digest of the release.yaml bytes (as before catalog.yaml existed, so saved
 * plans stay current); with one, it covers both files, so editing a default makes every saved plan
 * stale and every cached manifest a miss.
 */
export function manifestDigestOf(releaseBytes: Uint8Array, catalogBytes?: Uint8Array): string {
  if (catalogBytes === undefined) return sha256Digest(releaseBytes);
  return sha256Digest(`catalog.yaml ${sha256Digest(catalogBytes)}\nrelease.yaml ${sha256Digest(releaseBytes)}\n`);
}
