import { isAbsolute, join, resolve } from 'node:path';

// Replaced by scripts/bundle-cli.mjs with the build's identity; undefined when run from source.
declare const LEAPFROG_BUILD_ID: string | undefined;

/**
 * The build identity that cache files are keyed by (the package version and a digest of the
 * sources); undefined when running from source.
 */
export function buildId(): string | undefined {
  return typeof LEAPFROG_BUILD_ID === 'string' ? LEAPFROG_BUILD_ID : undefined;
}

/**
 * Where leapfrog's caches live (validated manifests, compiled code): LEAPFROG_CACHE_DIR (empty or
 * `off` disables them), else $XDG_CACHE_HOME/leapfrog, else $HOME/.cache/leapfrog — never inside
 * the catalog or the project, so nothing appears in a repository. Only the environment decides: a
 * process started with a cleared environment (neither variable set) runs without a cache rather
 * than writing into the home folder of whoever the password database says it is. From source
 * (tsx, vitest) there is no default: a schema edit does not change the build key there, so only
 * LEAPFROG_CACHE_DIR turns it on.
 */
export function cacheDirectory(
  env: NodeJS.ProcessEnv = process.env,
  build: string | undefined = buildId(),
): string | undefined {
  const explicit = env['LEAPFROG_CACHE_DIR'];
  if (explicit !== undefined) return explicit === '' || explicit === 'off' ? undefined : resolve(explicit);
  if (build === undefined) return undefined;
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'leapfrog');
  const home = env['HOME'];
  return home !== undefined && isAbsolute(home) ? join(home, '.cache', 'leapfrog') : undefined;
}
