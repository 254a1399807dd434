import { readdir, readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

/**
 * The npm packages whose code ran in a process of the built CLI, read from the V8 coverage it
 * wrote (start it with NODE_V8_COVERAGE=`coverageDir`). Everything is one bundle
 * (dist/cli/leapfrog.cjs), so "was zod loaded" means "did any function bundled from
 * node_modules/zod run": each function that ran is mapped through the bundle's source map to the
 * file it came from.
 */
export async function packagesThatRan(coverageDir: string, bundle: string): Promise<string[]> {
  const text = await readFile(bundle, 'latin1');
  const map = new SourceMap(
    JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
  );
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const url = pathToFileURL(bundle).href;
  const packages = new Set<string>();
  for (const file of await readdir(coverageDir)) {
    const { result } = JSON.parse(await readFile(join(coverageDir, file), 'utf8')) as { result: ScriptCoverage[] };
    for (const script of result.filter((s) => s.url === url)) {
      // The bin compiles the file as it is (it is its own CommonJS wrapper): offsets are the file's.
      for (const fn of script.functions) {
        const range = fn.ranges[0];
        if (range === undefined || range.count === 0) continue;
        const offset = range.startOffset;
        let line = lineStarts.length - 1;
        while (line > 0 && (lineStarts[line] ?? 0) > offset) line -= 1;
        const entry = map.findEntry(line, offset - (lineStarts[line] ?? 0));
        const source = 'originalSource' in entry ? entry.originalSource : undefined;
        const pkg = source === undefined ? undefined : /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
        if (pkg !== undefined) packages.add(pkg);
      }
    }
  }
  return [...packages].sort();
}
