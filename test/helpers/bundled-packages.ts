import { readdir, readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

/**
 * The npm packages whose code ran in a process of the built CLI, read from the V8 coverage it
 * wrote (start it with NODE_V8_COVERAGE=`coverageDir`). The CLI is one bundle
 * (dist/cli/leapfrog.cjs) plus vendor bundles the bin loads on demand (dist/cli/vendor/*.cjs), so
 * "was zod loaded" means "did any function bundled from node_modules/zod run, in any of them":
 * each function that ran is mapped through its bundle's source map to the file it came from.
 * `bundle` is the CLI bundle; the vendor bundles beside it are read too.
 */
export async function packagesThatRan(coverageDir: string, bundle: string): Promise<string[]> {
  const vendorDir = join(dirname(bundle), 'vendor');
  const vendors = (await readdir(vendorDir).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.cjs'))
    .map((name) => join(vendorDir, name));
  const bundles = new Map<string, Promise<Mapped>>(
    [bundle, ...vendors].map((file) => [pathToFileURL(file).href, mapped(file)] as const),
  );
  const packages = new Set<string>();
  for (const file of await readdir(coverageDir)) {
    const { result } = JSON.parse(await readFile(join(coverageDir, file), 'utf8')) as { result: ScriptCoverage[] };
    for (const script of result) {
      const map = bundles.get(script.url);
      if (map === undefined) continue;
      const { lineStarts, sourceMap } = await map;
      // The bin compiles each file as it is (it is its own CommonJS wrapper): offsets are the file's.
      for (const fn of script.functions) {
        const range = fn.ranges[0];
        if (range === undefined || range.count === 0) continue;
        const offset = range.startOffset;
        let line = lineStarts.length - 1;
        while (line > 0 && (lineStarts[line] ?? 0) > offset) line -= 1;
        const entry = sourceMap.findEntry(line, offset - (lineStarts[line] ?? 0));
        const source = 'originalSource' in entry ? entry.originalSource : undefined;
        const pkg = source === undefined ? undefined : /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
        if (pkg !== undefined) packages.add(pkg);
      }
    }
  }
  return [...packages].sort();
}

interface Mapped {
  lineStarts: number[];
  sourceMap: SourceMap;
}

async function mapped(bundle: string): Promise<Mapped> {
  const text = await readFile(bundle, 'latin1');
  const sourceMap = new SourceMap(
    JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
  );
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return { lineStarts, sourceMap };
}
