// esbuild plugins shared by the CLI's bundle (scripts/bundle-cli.mjs) and the benchmark that
// measures the floor beside it (test/bench/fixed-cost.bench.ts), so both load pg the same way.
import { readFile } from 'node:fs/promises';

// pg asks "am I in a Cloudflare Worker?" when it loads (lib/stream.js). On Node 21+ the answer
// comes from `navigator.userAgent`; Node 20 has no `navigator`, so pg touches the global
// `Response`, which makes Node load its whole fetch implementation (undici): 37-48 ms of every
// step/status, measured with `node -e` (issue 10). leapfrog runs only on Node, so the bundled copy
// answers "no" at once. The build fails if pg's text changes, rather than quietly losing this.
export const pgOnNode = {
  name: 'pg-on-node',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const probe = 'function isCloudflareRuntime() {';
      if (!source.includes(probe))
        throw new Error(`${args.path}: isCloudflareRuntime() not found; re-check the pg-on-node plugin`);
      return { contents: source.replace(probe, `${probe}\n  return false;`), loader: 'js' };
    });
  },
};
