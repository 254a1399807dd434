import type { Command } from 'commander';
import { action } from './action.js';
import { withCatalog } from './common-options.js';

interface ReleasesOptions {
  catalog: string;
}

export function register(program: Command): void {
  withCatalog(
    program
      .command('releases')
      .description(
        'list the release catalog: release, version, milestone, accepted-from range (none: an entry release, installed fresh), yanked, image',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  leapfrog releases\n  leapfrog releases --catalog release-images --output json',
      ),
  ).action(
    action<ReleasesOptions>(async (options) => {
      const { loadCatalog } = await import('../catalog/load-catalog.js');
      const catalog = await loadCatalog(options.catalog);
      if (options.output === 'json') {
        const releases = catalog.releases.map((r) => ({
          release: r.id,
          version: r.version,
          milestone: r.milestone,
          // An entry release's range admits nothing; `none` is what its manifest says.
          upgradeFrom: r.entry ? 'none' : r.upgradeFrom,
          upgradeFromIsDefault: r.upgradeFromIsDefault,
          entry: r.entry,
          yanked: r.yanked,
          image: r.image,
          manifestDigest: r.manifestDigest,
          file: r.file,
        }));
        process.stdout.write(
          `${JSON.stringify({ catalog: options.catalog, catalogDigest: catalog.digest, releases })}\n`,
        );
        return 0;
      }
      const { textTable } = await import('./text-table.js');
      const rows = [
        ['RELEASE', 'VERSION', 'MILESTONE', 'ACCEPTS FROM', 'YANKED', 'IMAGE'],
        ...catalog.releases.map((r, i) => [
          r.id,
          r.version,
          r.milestone ? 'yes' : '-',
          // The oldest release's default is where databases enter the catalog (baseline).
          r.entry
            ? 'none (entry)'
            : r.upgradeFromIsDefault
              ? i === 0
                ? `${r.upgradeFrom} (oldest)`
                : `${r.upgradeFrom} (previous)`
              : r.upgradeFrom,
          r.yanked ? 'YANKED' : '-',
          r.image ?? '-',
        ]),
      ];
      const count = catalog.releases.length;
      process.stdout.write(
        `${count} release${count === 1 ? '' : 's'} in ${options.catalog} (catalog ${catalog.digest.slice(0, 19)}…)\n\n${textTable(rows)}\n`,
      );
      return 0;
    }),
  );
}
