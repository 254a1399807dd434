import { LineCounter, parseDocument } from 'yaml';
import { parseManifest, type Manifest, type ManifestProblem } from './manifest-schema.js';

/**
 * The cache-miss path of loadCatalog: YAML text -> validated manifest, or every problem with its
 * field path. This module is the only one that pulls in yaml and zod (together ~145 ms of CPU
 * at a cold start), so load-catalog.ts imports it only when a manifest is not in the cache.
 */
export function validateManifest(
  text: string,
): { manifest: Manifest; problems: [] } | { manifest: undefined; problems: ManifestProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      const where = `line ${at.line}, column ${at.col}: `;
      return { path: '', message: `not valid YAML: ${where}${error.message.split('\n')[0] ?? ''}` };
    });
    return { manifest: undefined, problems };
  }
  return parseManifest(document.toJS());
}
