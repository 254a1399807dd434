/**
 * The in-memory shape of one release, after its release.yaml was validated and normalised.
 * The zod schema in manifest-schema.ts parses YAML into this; the planner, runner and executors
 * depend only on this shape, never on the YAML.
 */

export type ProtocolName = 'exit0' | 'batches' | 'upgradecheck';
export type PhaseName = 'preflight' | 'schema' | 'data' | 'check';

/**
 * What one exit code of a third-party command means (`keystone-manage db_sync --check`):
 * green and warning let the phase pass (warning is reported), red is a red light (a check's exit 3),
 * error is a failed command (exit 1). Codes the map does not list are errors.
 */
export type ExitCodeMeaning = 'green' | 'warning' | 'red' | 'error';

/** A command's own exit codes, described instead of a named protocol. */
export interface ExitCodeMap {
  exitCodes: Readonly<Record<number, ExitCodeMeaning>>;
}

/** One schema command: must exit 0 (protocol exit0) or green by its exit-code map. Manifest order. */
export interface SchemaCommand {
  name: string;
  run: readonly string[];
  /** exit0 unless the manifest gives an exit-code map. */
  protocol: 'exit0' | ExitCodeMap;
  /** Extra environment for this command only (Kolla's KOLLA_UPGRADE…), over the release's env. */
  env: Readonly<Record<string, string>>;
}

/**
 * A green light leapfrog evaluates itself, in-process: the query runs in a read-only transaction
 * with a statement timeout and is GREEN when it returns no rows; returned rows are the details.
 */
export interface SqlCheck {
  name: string;
  query: string;
  /** failure (default) stops the step red; warning is reported and the release advances. */
  severity: 'failure' | 'warning';
}

/**
 * Preflight and check: SQL checks and/or one command; both must be green. A phase with neither
 * is refused by the schema, so at least one of `run` and a non-empty `sql` is present.
 */
export interface CheckCommand {
  run?: readonly string[];
  protocol: 'upgradecheck' | 'exit0' | ExitCodeMap;
  /** Extra environment for this command only, over the release's env. */
  env: Readonly<Record<string, string>>;
  /** Run before the command, in manifest order. */
  sql: readonly SqlCheck[];
}

/**
 * The data phase: a command run repeatedly while it says more remain (protocol batches), and/or a
 * gate that waits for the application's own workers (GitLab's batched background migrations).
 * At least one of `run` and `until` is present; with both, the gate is waited for after the command
 * said done.
 */
export interface DataCommand {
  /** May contain the placeholder `{batchSize}`. */
  run?: readonly string[];
  protocol: 'batches';
  batchSize: number;
  /** Runs (or polls of `until`) in a row with no progress before the phase fails as stalled. */
  stallAfter: number;
  env: Readonly<Record<string, string>>;
  /** The query returns one row, one column: the count still to migrate; done at 0. */
  until?: { sql: string; pollMs: number };
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
  /**
   * Container image reference for this release's migrations. Optional: only the docker executor
   * and `images build` need it, and they refuse a release without one.
   */
  image?: string;
  build?: { context: string; dockerfile: string };
  /**
   * Process executor: folders (relative to `dir`) prepended to PATH, the working dir, and the argv
   * `leapfrog toolchains install` runs once in the release folder (OpenStack-Ansible's venv).
   */
  local?: { path: readonly string[]; cwd: string; install?: readonly string[] };
  /**
   * Semver range of versions this release's migrations start from (always resolved). For an entry
   * release (`upgradeFrom: none`) it is EMPTY_RANGE, which admits no version, so no path can enter
   * it even where a caller forgets to look at `entry`.
   */
  upgradeFrom: string;
  /** True when the manifest gave no upgradeFrom and it defaulted to the previous release. */
  upgradeFromIsDefault: boolean;
  /**
   * `upgradeFrom: none`: the release starts a new lineage. It is reached only by a fresh install
   * and `baseline`; no hop enters it (the planner refuses with exit 5 and says how).
   */
  entry: boolean;
  /**
   * What the application itself says it is: the first column of the first row of `sql`, as text,
   * must equal `equals` while the database is at this release. Otherwise it is drift (exit 6).
   */
  appVersion?: { sql: string; equals: string };
  /**
   * How to install this release fresh into an empty database and seed sample data, so that
   * `validate --rehearse` can prove the paths that start here on a catalog of one's own.
   */
  fresh?: { run: readonly string[]; seed?: readonly string[] };
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
  /**
   * "sha256:<hex>" of the release.yaml bytes, or, when the catalog has a catalog.yaml, of both
   * files (manifestDigestOf), so that a changed default makes plans over this release stale.
   */
  manifestDigest: string;
}

/** The range an entry release's `upgradeFrom` resolves to: no version satisfies it. */
export const EMPTY_RANGE = '<0.0.0-0';

export interface Catalog {
  /** Absolute path of the catalog directory. */
  dir: string;
  /** Ascending by semver. */
  releases: readonly Release[];
  /** "sha256:<hex>" over every manifest digest in order: changes when any manifest changes. */
  digest: string;
}
