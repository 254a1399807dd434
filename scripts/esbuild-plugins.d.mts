import type { Plugin } from 'esbuild';

/** pg bundled for Node: its Cloudflare probe answered at build time (see esbuild-plugins.mjs). */
export const pgOnNode: Plugin;
