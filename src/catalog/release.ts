/**
 * The in-memory shape of one release, after its release.yaml was validated and normalised.
 * The zod schema in manifest-schema.ts parses YAML into this; the planner, runner and executors
 * depend only on this shape, never on the YAML.
 */

export type ProtocolName = 'exit0' | 'batches' | 'upgradecheck';
export type PhaseName = 'preflight' | 'schema' | 'data' | 'check';

/** One schema command: must exit 0 (protocol exit0). Run in manifest order. */
export interface SchemaCommand {
  name: string;
  run: readonly string[];
}

/** A one-shot command spoken in the upgradecheck protocol (preflight and check). */
export interface CheckCommand {
  run: readonly string[];
  protocol: 'upgradecheck' | 'exit0';
}

/** The data phase: run repeatedly while it says more remain (protocol batches). */
export interface DataCommand {
  /** May contain the placeholder `{batchSize}`. */
  run: readonly string[];
  protocol: 'batches';
  batchSize: number;
  /** Runs in a row with no progress before the phase fails as stalled. */
  stallAfter: number;
}

export interface ReleasePhases {
  preflight?: CheckCommand;
  schema: readonly SchemaCommand[];
  data?: DataCommand;
  check?: CheckCommand;
}

export interface PhaseTimeouts {
  preflight: number;
  schema: number;
  data: number;
  check: number;
}

export interface Release {
  /** The id people use, e.g. "2024.1". Unique in the catalog. */
  id: string;
  /** Normalised semver, e.g. "2024.1.0". Unique in the catalog. */
  version: string;
  /** Container image reference for this release's migrations. */
  image: string;
  build?: { context: string; dockerfile: string };
  /** Process executor: folders (relative to `dir`) prepended to PATH, and the working dir. */
  local?: { path: readonly string[]; cwd: string };
  /** Semver range of versions this release's migrations start from (always resolved). */
  upgradeFrom: string;
  /** True when the manifest gave no upgradeFrom and it defaulted to the previous release. */
  upgradeFromIsDefault: boolean;
  milestone: boolean;
  yanked: boolean;
  env: Readonly<Record<string, string>>;
  /** The variable phase commands get the database URL in, when the manifest names one. */
  databaseUrlEnv?: string;
  phases: ReleasePhases;
  /** Milliseconds per phase; defaults filled in. */
  timeoutsMs: PhaseTimeouts;
  /** Absolute path of the release folder. */
  dir: string;
  /** Path of release.yaml as it should appear in messages (relative to the cwd when possible). */
  file: string;
  /** "sha256:<hex>" of the release.yaml bytes. */
  manifestDigest: string;
}

export interface Catalog {
  /** Absolute path of the catalog directory. */
  dir: string;
  /** Ascending by semver. */
  releases: readonly Release[];
  /** "sha256:<hex>" over every manifest digest in order: changes when any manifest changes. */
  digest: string;
}
