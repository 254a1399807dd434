import type { CheckCommand, DataCommand, ExitCodeMap, PhaseName, Release, SqlCheck } from '../catalog/release.js';

/**
 * One phase of a step in run order, with what the manifest gave it: the command (absent when the
 * phase is only SQL checks or a SQL gate), its protocol, its own env, and the SQL leapfrog runs.
 */
export type StepPhase =
  | {
      phase: 'preflight' | 'check';
      name: PhaseName;
      run?: readonly string[];
      protocol: CheckCommand['protocol'];
      env: Readonly<Record<string, string>>;
      sql: readonly SqlCheck[];
    }
  | {
      phase: 'schema';
      name: string;
      run: readonly string[];
      protocol: 'exit0' | ExitCodeMap;
      env: Readonly<Record<string, string>>;
    }
  | {
      phase: 'data';
      name: 'data';
      run?: readonly string[];
      protocol: 'batches';
      batchSize: number;
      stallAfter: number;
      env: Readonly<Record<string, string>>;
      until?: DataCommand['until'];
    };

/** preflight?, schema commands in manifest order, data?, check? */
export function stepPhases(release: Release): StepPhase[] {
  const { preflight, schema, data, check } = release.phases;
  const out: StepPhase[] = [];
  if (preflight) out.push({ phase: 'preflight', name: 'preflight', ...preflight });
  for (const command of schema) out.push({ phase: 'schema', ...command });
  if (data) out.push({ phase: 'data', name: 'data', ...data });
  if (check) out.push({ phase: 'check', name: 'check', ...check });
  return out;
}
