/** Edit distance, for "did you mean" suggestions; catalogs are small enough for the plain DP. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The known ids closest to what was typed, nearest first. Ties go to the longer common prefix
 * (for "2025.2", 2025.1 before 2023.2), then catalog order.
 */
export function nearestIds(wanted: string, ids: readonly string[], count = 3): string[] {
  return ids
    .map((id, index) => ({ id, index, d: distance(wanted, id), prefix: commonPrefix(wanted, id) }))
    .sort((x, y) => x.d - y.d || y.prefix - x.prefix || x.index - y.index)
    .slice(0, count)
    .map((x) => x.id);
}
