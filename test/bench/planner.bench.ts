// Planner speed: one plan over a generated 10,000-release catalog (milestone every 3 releases),
// and every (from, to) pair of a 200-release catalog. Targets: < 50 ms per plan; < 2 s for all
// pairs. Prints figures only; nothing here asserts on time.
import { planPath } from '../../src/planner/plan-path.js';
import { generatedCatalog, generatedId } from '../helpers/catalog-builder.js';
import { fmt, median, percentile } from './stats.js';

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

// --- 10,000 releases --------------------------------------------------------------------------
const count = 10_000;
let start = performance.now();
const big = generatedCatalog(count, 3);
console.log(
  `catalog: ${count} releases, ${big.releases.filter((r) => r.milestone).length} milestones (built in ${fmt(performance.now() - start)})`,
);

// The first plan also builds the catalog index (parsed versions, series, admitted ranges).
const first = time(() => planPath(big, generatedId(0), generatedId(count - 1)));
const fullSpan: number[] = [];
let steps = 0;
for (let i = 0; i < 30; i++)
  fullSpan.push(time(() => (steps = planPath(big, generatedId(0), generatedId(count - 1)).steps.length)));

// Random pairs: a fixed LCG so runs are comparable.
let seed = 42;
const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const random: number[] = [];
for (let i = 0; i < 200; i++) {
  const a = Math.floor(next() * (count - 1));
  const b = a + 1 + Math.floor(next() * (count - 1 - a));
  random.push(time(() => planPath(big, generatedId(a), generatedId(b))));
}
console.log(`first plan (cold, builds the index), full span: ${fmt(first)}`);
console.log(
  `full span (${steps} steps): median ${fmt(median(fullSpan))}, p95 ${fmt(percentile(fullSpan, 95))}   target < 50 ms`,
);
console.log(
  `200 random pairs: median ${fmt(median(random))}, p95 ${fmt(percentile(random, 95))}, max ${fmt(Math.max(...random))}`,
);

// --- all pairs of 200 releases ----------------------------------------------------------------
const small = generatedCatalog(200, 3);
const ids = small.releases.map((r) => r.id);
planPath(small, ids[0] as string, ids[1] as string); // index built outside the timing, as in a long-lived caller
let plans = 0;
start = performance.now();
for (let a = 0; a < ids.length; a++) {
  for (let b = a + 1; b < ids.length; b++) {
    planPath(small, ids[a] as string, ids[b] as string);
    plans++;
  }
}
const forward = performance.now() - start;
let refusals = 0;
start = performance.now();
for (let a = 0; a < ids.length; a++) {
  for (let b = 0; b <= a; b++) {
    try {
      planPath(small, ids[a] as string, ids[b] as string);
    } catch {
      refusals++;
    }
  }
}
const backward = performance.now() - start;
console.log(
  `all ${plans} forward pairs of 200 releases: ${fmt(forward)} (${fmt(forward / plans)} per plan)   target < 2 s`,
);
console.log(
  `all ${refusals} downgrade/same pairs (typed refusals): ${fmt(backward)}; every ordered pair: ${fmt(forward + backward)}`,
);
