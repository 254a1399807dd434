import semver, { SemVer, type Comparator } from 'semver';
import type { Catalog, Release } from '../catalog/release.js';

/** Inclusive interval of catalog positions. */
export interface PositionRange {
  lo: number;
  hi: number;
}

/**
 * What the planner derives from a catalog once and reuses for every plan over it: positions,
 * series boundaries, and for each release the positions of the OLDER releases its upgradeFrom
 * admits, as sorted intervals. Semver ranges are intersections of comparators per `||` branch, and
 * each comparator bounds a contiguous run of the sorted catalog, so binary search finds the run.
 * Cached per catalog object; a catalog is immutable data, so the cache can never go stale.
 */
export class CatalogIndex {
  readonly releases: readonly Release[];
  readonly versions: readonly SemVer[];
  readonly #positionById = new Map<string, number>();
  /** Position of the first release of each release's series (series are contiguous in semver order). */
  readonly seriesStart: Int32Array;
  /** Position of the last release of each release's series. */
  readonly seriesEnd: Int32Array;
  readonly #admits: (readonly PositionRange[] | undefined)[];
  // Prerelease versions only satisfy ranges that name their own tuple, which is not monotonic in
  // the order, so such catalogs test every candidate inside each run.
  readonly #hasPrerelease: boolean;

  constructor(catalog: Catalog) {
    this.releases = catalog.releases;
    this.versions = catalog.releases.map((r) => new SemVer(r.version));
    this.#hasPrerelease = this.versions.some((v) => v.prerelease.length > 0);
    this.seriesStart = new Int32Array(this.releases.length);
    this.seriesEnd = new Int32Array(this.releases.length);
    this.versions.forEach((v, i) => {
      this.#positionById.set((this.releases[i] as Release).id, i);
      const previous = this.versions[i - 1];
      const sameSeries = previous !== undefined && previous.major === v.major && previous.minor === v.minor;
      this.seriesStart[i] = sameSeries ? (this.seriesStart[i - 1] as number) : i;
    });
    for (let i = this.releases.length - 1; i >= 0; i--) {
      const next = i + 1 < this.releases.length && this.seriesStart[i + 1] === this.seriesStart[i];
      this.seriesEnd[i] = next ? (this.seriesEnd[i + 1] as number) : i;
    }
    this.#admits = new Array<readonly PositionRange[] | undefined>(this.releases.length);
  }

  /** The release with exactly this id, if any. */
  byId(id: string): Release | undefined {
    const position = this.#positionById.get(id);
    return position === undefined ? undefined : this.releases[position];
  }

  positionOf(release: Release): number {
    const position = this.#positionById.get(release.id);
    if (position === undefined || this.releases[position] !== release)
      throw new Error(`release ${release.id} is not in this catalog`);
    return position;
  }

  sameSeries(a: number, b: number): boolean {
    return this.seriesStart[a] === this.seriesStart[b];
  }

  /** Positions below `position` that its upgradeFrom admits, as sorted disjoint intervals. */
  admittedBy(position: number): readonly PositionRange[] {
    const cached = this.#admits[position];
    if (cached) return cached;
    const release = this.releases[position] as Release;
    const simple = this.#hasPrerelease ? undefined : simpleComparators(release.upgradeFrom);
    const range = simple ? undefined : new semver.Range(release.upgradeFrom);
    const runs: PositionRange[] = [];
    for (const comparators of simple ? [simple] : (range as semver.Range).set) {
      let lo = 0;
      let hi = position; // exclusive: only older releases
      for (const comparator of comparators) [lo, hi] = this.#narrow(comparator, lo, hi);
      if (lo >= hi) continue;
      if (!this.#hasPrerelease) {
        runs.push({ lo, hi: hi - 1 });
        continue;
      }
      for (let i = lo; i < hi; i++)
        if ((range as semver.Range).test(this.versions[i] as SemVer)) runs.push({ lo: i, hi: i });
    }
    runs.sort((a, b) => a.lo - b.lo);
    const merged: PositionRange[] = [];
    for (const run of runs) {
      const last = merged[merged.length - 1];
      if (last && run.lo <= last.hi + 1) last.hi = Math.max(last.hi, run.hi);
      else merged.push({ ...run });
    }
    this.#admits[position] = merged;
    return merged;
  }

  #narrow(comparator: Comparator | SimpleComparator, lo: number, hi: number): [number, number] {
    if (!(comparator.semver instanceof SemVer)) return [lo, hi]; // `*`: any version
    const v = comparator.semver;
    switch (comparator.operator) {
      case '>=':
        return [Math.max(lo, this.#lowerBound(v)), hi];
      case '>':
        return [Math.max(lo, this.#upperBound(v)), hi];
      case '<':
        return [lo, Math.min(hi, this.#lowerBound(v))];
      case '<=':
        return [lo, Math.min(hi, this.#upperBound(v))];
      default:
        return [Math.max(lo, this.#lowerBound(v)), Math.min(hi, this.#upperBound(v))];
    }
  }

  /** First position whose version is >= v. */
  #lowerBound(v: SemVer): number {
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.versions[mid] as SemVer).compare(v) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose version is > v. */
  #upperBound(v: SemVer): number {
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.versions[mid] as SemVer).compare(v) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const cache = new WeakMap<Catalog, CatalogIndex>();

export function indexOf(catalog: Catalog): CatalogIndex {
  let index = cache.get(catalog);
  if (!index) {
    index = new CatalogIndex(catalog);
    cache.set(catalog, index);
  }
  return index;
}

interface SimpleComparator {
  operator: string;
  semver: SemVer;
}

const SIMPLE = /^(<=|>=|<|>|=)?v?(\d+\.\d+\.\d+)$/;

/**
 * Ranges written as plain comparators on full versions (`2024.1.0`, `>=2023.1.0 <2024.1.0`) —
 * every default and nearly every manifest — parsed without building a semver.Range, which costs
 * tens of microseconds each and dominated the first plan over a 10,000-release catalog. Anything
 * else (x-ranges, `||`, `~`, `^`, hyphens) returns undefined and goes through semver.Range.
 */
function simpleComparators(range: string): SimpleComparator[] | undefined {
  const tokens = range.trim().split(/\s+/);
  const comparators: SimpleComparator[] = [];
  for (const token of tokens) {
    const match = SIMPLE.exec(token);
    if (!match) return undefined;
    comparators.push({ operator: match[1] ?? '', semver: new SemVer(match[2] as string) });
  }
  return comparators;
}
