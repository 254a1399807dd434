import type { PhaseName, Release } from '../catalog/release.js';

/** One phase of a step in run order, with the command and protocol the manifest gave it. */
export type StepPhase =
  | { phase: 'preflight' | 'check'; name: PhaseName; run: readonly string[]; protocol: 'upgradecheck' | 'exit0' }
  | { phase: 'schema'; name: string; run: readonly string[]; protocol: 'exit0' }
  | { phase: 'data'; name: 'data'; run: readonly string[]; protocol: 'batches'; batchSize: number; stallAfter: number };

/** preflight?, schema commands in manifest order, data?, check? */
export function stepPhases(release: Release): StepPhase[] {
  const { preflight, schema, data, check } = release.phases;
  const out: StepPhase[] = [];
  if (preflight) out.push({ phase: 'preflight', name: 'preflight', run: preflight.run, protocol: preflight.protocol });
  for (const command of schema) out.push({ phase: 'schema', name: command.name, run: command.run, protocol: 'exit0' });
  if (data) {
    out.push({
      phase: 'data',
      name: 'data',
      run: data.run,
      protocol: 'batches',
      batchSize: data.batchSize,
      stallAfter: data.stallAfter,
    });
  }
  if (check) out.push({ phase: 'check', name: 'check', run: check.run, protocol: check.protocol });
  return out;
}
