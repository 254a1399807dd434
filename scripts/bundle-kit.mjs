// Bundles the release kit (src/kit) into one file that needs only Node, so that a release
// folder or image can run it without node_modules. Runs after tsc in `npm run build`.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entry = 'src/kit/main.ts';
if (!existsSync(entry)) {
  console.log('bundle-kit: no src/kit/main.ts yet, nothing to bundle');
} else {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: 'dist/kit/leapfrog-kit.mjs',
    // pg tries `require('pg-native')` only when asked for the native driver, which the kit never is.
    external: ['pg-native'],
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
