import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildId, cacheDirectory } from '../util/cache-directory.js';
import { logger } from '../util/logger.js';
import type { Manifest } from './manifest-schema.js';

/**
 * A cache of validated manifests, so that `plan`, `step` and `status` — called once per release
 * by deployment tools — skip YAML parsing and zod validation (about 145 ms of CPU, half of a cold
 * `leapfrog plan`) when the catalog has not changed.
 *
 * Safety: an entry is found by the sha256 of the release.yaml bytes, so an edited manifest is a
 * miss and is validated in full; only valid manifests are stored, so every problem is reported
 * exactly as without a cache. The file is keyed by the build of leapfrog that wrote it (its
 * version and a digest of its sources), so a new schema never trusts an old verdict. A file that
 * cannot be read, does not parse, or whose checksum does not match is ignored (and rewritten).
 */

const FORMAT = 1;
const log = logger('catalog');

export interface ManifestCache {
  /** The validated manifest whose release.yaml bytes have this digest, if cached. */
  get(manifestDigest: string): Manifest | undefined;
  /** Stores exactly these manifests (dropping stale ones); never throws. */
  save(valid: ReadonlyMap<string, Manifest>): Promise<void>;
}

const noCache: ManifestCache = { get: () => undefined, save: () => Promise.resolve() };

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The cache of one catalog folder (one file per catalog and build, so it never grows unbounded). */
export async function openManifestCache(
  catalogRoot: string,
  dir: string | undefined = cacheDirectory(),
): Promise<ManifestCache> {
  if (dir === undefined) return noCache;
  const build = buildId() ?? 'source';
  const file = join(dir, `catalog-v${FORMAT}`, `${sha256Hex(`${build}\n${catalogRoot}`).slice(0, 32)}.json`);
  const cached = await readEntries(file, build, catalogRoot);

  return {
    get: (digest) => cached.get(digest),
    async save(valid) {
      const unchanged = valid.size === cached.size && [...valid.keys()].every((digest) => cached.has(digest));
      if (unchanged) return;
      // First line: checksum of the rest, so a truncated or damaged file is a miss, not a wrong manifest.
      const payload = JSON.stringify({ format: FORMAT, build, root: catalogRoot, entries: Object.fromEntries(valid) });
      const temporary = `${file}.${process.pid}.tmp`;
      try {
        await mkdir(join(dir, `catalog-v${FORMAT}`), { recursive: true, mode: 0o700 });
        await writeFile(temporary, `${sha256Hex(payload)}\n${payload}`);
        // Atomic: a concurrent reader sees the old file or the new one, never half of one.
        await rename(temporary, file);
        log.debug(`catalog cache written: ${file} (${valid.size} manifests)`);
      } catch (error) {
        log.suppressed(`writing the catalog cache ${file} (continuing without it)`, error);
      }
    },
  };
}

async function readEntries(file: string, build: string, catalogRoot: string): Promise<Map<string, Manifest>> {
  const none = new Map<string, Manifest>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.suppressed(`reading the catalog cache ${file}`, error);
    else log.debug(`catalog cache miss: no ${file}`);
    return none;
  }
  const newline = text.indexOf('\n');
  const payload = text.slice(newline + 1);
  if (newline < 0 || text.slice(0, newline) !== sha256Hex(payload)) {
    log.debug(`catalog cache ignored: ${file} is damaged (checksum mismatch)`);
    return none;
  }
  try {
    const parsed = JSON.parse(payload) as { format?: unknown; build?: unknown; root?: unknown; entries?: unknown };
    if (parsed.format !== FORMAT || parsed.build !== build || parsed.root !== catalogRoot) return none;
    if (parsed.entries === null || typeof parsed.entries !== 'object' || Array.isArray(parsed.entries)) return none;
    const entries = new Map<string, Manifest>();
    for (const [digest, manifest] of Object.entries(parsed.entries as Record<string, unknown>)) {
      if (
        manifest === null ||
        typeof manifest !== 'object' ||
        typeof (manifest as { release?: unknown }).release !== 'string'
      )
        return none;
      entries.set(digest, manifest as Manifest);
    }
    log.debug(`catalog cache read: ${file} (${entries.size} manifests)`);
    return entries;
  } catch (error) {
    log.suppressed(`parsing the catalog cache ${file}`, error);
    return none;
  }
}
