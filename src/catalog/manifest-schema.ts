import semver from 'semver';
import { z } from 'zod';
import { MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from '../util/duration.js';

/**
 * The one schema of `release-images/<release>/release.yaml`. Strict everywhere: an unknown key is
 * almost always a typo (`upgradeform`), and a typo silently ignored would change the upgrade path.
 * Catalog-wide rules (duplicates, defaults that depend on other releases) live in build-catalog.ts.
 */

const PROTOCOLS = ['exit0', 'batches', 'upgradecheck'] as const;

// YAML turns an unquoted 2024.10 into the number 2024.1, so ids and versions must be quoted strings.
const quotedString = (example: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : `expected a quoted string (YAML reads ${JSON.stringify(issue.input)} as a ${typeof issue.input}; quote it, e.g. ${example})`,
  });

const nonEmptyString = z.string().min(1, { error: 'must not be empty' });

const argv = z
  .array(nonEmptyString, { error: 'expected a list of strings (argv), e.g. [nova-manage, db, sync]' })
  .min(1, {
    error: 'must name a command: a list with at least one item',
  });

const protocol = z.enum(PROTOCOLS, { error: `expected one of ${PROTOCOLS.join(', ')}` });

const duration = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 10m, 6h or 90s' })
  .superRefine((value, ctx) => {
    const ms = parseDuration(String(value));
    // A zero timeout stops every command at its start, and a zero poll is a stall at once.
    const problem =
      ms === undefined
        ? 'expected a duration such as 10m, 6h or 90s'
        : ms === 0
          ? 'must be longer than 0'
          : ms > MAX_DURATION_MS
            ? `at most ${MAX_DURATION_TEXT}: longer than Node's timers and PostgreSQL's statement_timeout hold`
            : null;
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const envMap = z.record(z.string(), z.string({ error: 'expected a string (quote the value in YAML)' }));

const EXIT_MEANINGS = ['green', 'warning', 'red', 'error'] as const;

// A third-party command's own exit codes (keystone-manage db_sync --check) instead of a named protocol.
const exitCodeMap = z.strictObject({
  exitCodes: z
    .record(
      z.string().regex(/^(0|[1-9][0-9]{0,2})$/, { error: 'expected an exit code 0-255 as the key, e.g. "2"' }),
      z.enum(EXIT_MEANINGS, { error: `expected one of ${EXIT_MEANINGS.join(', ')}` }),
    )
    .refine((codes) => Object.keys(codes).every((code) => Number(code) <= 255), {
      error: 'exit codes are 0-255',
    }),
});

const sqlText = nonEmptyString;

const sqlCheck = z.strictObject({
  name: nonEmptyString,
  query: sqlText,
  severity: z.enum(['failure', 'warning'], { error: 'expected failure or warning' }).default('failure'),
});

const checkCommand = z.strictObject({
  run: argv.optional(),
  protocol: z
    .union([protocol, exitCodeMap], { error: 'expected a protocol name or { exitCodes: {…} }' })
    .default('upgradecheck'),
  env: envMap.default({}),
  sql: z.array(sqlCheck).default([]),
});

const schemaCommand = z.strictObject({
  name: nonEmptyString,
  run: argv,
  protocol: z.union([protocol, exitCodeMap], { error: 'expected exit0 or { exitCodes: {…} }' }).default('exit0'),
  env: envMap.default({}),
});

const dataCommand = z.strictObject({
  run: argv.optional(),
  protocol: protocol.default('batches'),
  batchSize: z.number().int().positive({ error: 'must be a positive integer' }).default(1000),
  stallAfter: z.number().int().positive({ error: 'must be a positive integer' }).default(3),
  env: envMap.default({}),
  until: z.strictObject({ sql: sqlText, poll: duration.default('5s') }).optional(),
});

export const manifestSchema = z
  .strictObject({
    // The id names files (plan files, rehearsal reports, backups) and appears in commands leapfrog
    // prints: no `/`, no spaces, nothing a shell or a file system reads specially, and short
    // enough for a file name with a database name and a timestamp beside it. (Empty is the min's.)
    release: quotedString('release: "2024.1"')
      .min(1, { error: 'must not be empty' })
      .regex(/^(?:[A-Za-z0-9][A-Za-z0-9._+-]{0,63})?$/, {
        error: 'letters, digits, ".", "_", "+" and "-" only, starting with a letter or digit, at most 64 characters',
      }),
    version: quotedString('version: "2024.1.0"')
      .refine((value) => semver.valid(value) !== null, { error: 'not a semver version (expected e.g. "2024.1.0")' })
      .optional(),
    image: nonEmptyString.optional(),
    build: z
      .strictObject({ context: nonEmptyString.default('.'), dockerfile: nonEmptyString.default('Dockerfile') })
      .optional(),
    local: z
      .strictObject({
        path: z.array(nonEmptyString).default(['bin']),
        cwd: nonEmptyString.default('.'),
        install: argv.optional(),
      })
      .optional(),
    // `none` marks an entry release (a new lineage: fresh install, then baseline).
    upgradeFrom: quotedString('upgradeFrom: ">=2023.1.0 <2024.1.0"')
      .refine((value) => value === 'none' || semver.validRange(value) !== null, {
        error: 'not a valid semver range (expected e.g. ">=2023.1.0 <2024.1.0", or none for an entry release)',
      })
      .optional(),
    appVersion: z
      .strictObject({
        sql: sqlText,
        equals: quotedString('equals: "20"'),
      })
      .optional(),
    fresh: z.strictObject({ run: argv, seed: argv.optional() }).optional(),
    milestone: z.boolean({ error: 'expected true or false' }).default(false),
    yanked: z.boolean({ error: 'expected true or false' }).default(false),
    env: envMap.default({}),
    // The variable this release's commands read the URL from (an app's own name, e.g.
    // PGBOSS_DATABASE_URL); `--database-url-env` overrides it.
    databaseUrlEnv: z
      .string({ error: 'expected a variable name, e.g. databaseUrlEnv: APP_DATABASE_URL' })
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        error: 'not an environment variable name (letters, digits and _, not starting with a digit)',
      })
      .optional(),
    phases: z.strictObject({
      preflight: checkCommand.optional(),
      schema: z.array(schemaCommand).default([]),
      data: dataCommand.optional(),
      check: checkCommand.optional(),
    }),
    timeouts: z
      .strictObject({
        preflight: duration.optional(),
        schema: duration.optional(),
        data: duration.optional(),
        check: duration.optional(),
      })
      .default({}),
  })
  .superRefine((manifest, ctx) => {
    // The protocol field is shared with the other phases so that a typo gets the full list above;
    // here the phase decides which protocols make sense for it.
    const { preflight, data, check } = manifest.phases;
    // No env may name a database, the release's own (or catalog.yaml's default) no more than a
    // command's: the run's URL reaches every command under one name (databaseUrlEnv), and a
    // PGHOST or URL of the manifest's would point commands elsewhere (a rehearsal's at the
    // production database it copied). The executor drops such names too; refusing them here says
    // so instead of ignoring the line.
    const commandEnvs: [PropertyKey[], Record<string, string>][] = [
      [['env'], manifest.env],
      ...(preflight
        ? [[['phases', 'preflight', 'env'], preflight.env] as [PropertyKey[], Record<string, string>]]
        : []),
      ...manifest.phases.schema.map(
        (command, index) =>
          [['phases', 'schema', index, 'env'], command.env] as [PropertyKey[], Record<string, string>],
      ),
      ...(data ? [[['phases', 'data', 'env'], data.env] as [PropertyKey[], Record<string, string>]] : []),
      ...(check ? [[['phases', 'check', 'env'], check.env] as [PropertyKey[], Record<string, string>]] : []),
    ];
    for (const [path, env] of commandEnvs) {
      for (const name of Object.keys(env)) {
        if (name === 'DATABASE_URL' || name.startsWith('PG') || name === manifest.databaseUrlEnv) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, name],
            message: `an env may not name the database (DATABASE_URL, PG*, databaseUrlEnv): leapfrog passes the run's URL to every command under ${manifest.databaseUrlEnv ?? 'DATABASE_URL'}`,
          });
        }
      }
    }
    if (data && data.run === undefined && data.until === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['phases', 'data'],
        message: 'expected run (a batches command) and/or until (a SQL gate)',
      });
    }
    if (data && data.protocol !== 'batches') {
      ctx.addIssue({
        code: 'custom',
        path: ['phases', 'data', 'protocol'],
        message: 'the data phase speaks batches (run again while it exits 1)',
      });
    }
    for (const [name, phase] of [
      ['preflight', preflight],
      ['check', check],
    ] as const) {
      if (phase && phase.protocol === 'batches') {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', name, 'protocol'],
          message: `the ${name} phase is one-shot: expected upgradecheck, exit0 or { exitCodes: {…} }`,
        });
      }
      if (phase && phase.run === undefined && phase.sql.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', name],
          message: 'expected run (a command) and/or sql (checks leapfrog runs itself)',
        });
      }
    }
    manifest.phases.schema.forEach((command, index) => {
      if (command.protocol !== 'exit0' && typeof command.protocol === 'string') {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', 'schema', index, 'protocol'],
          message: 'a schema command speaks exit0 or { exitCodes: {…} }',
        });
      }
    });
    const names = new Set<string>();
    manifest.phases.schema.forEach((command, index) => {
      if (names.has(command.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', 'schema', index, 'name'],
          message: `duplicate schema command name "${command.name}"`,
        });
      }
      names.add(command.name);
    });
  });

export type Manifest = z.output<typeof manifestSchema>;

export interface ManifestProblem {
  /** Field path such as `phases.data.protocol` or `phases.schema[0].run`; empty for the whole file. */
  path: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Parses one manifest's YAML value; problems carry field paths, never zod's internals. */
export function parseManifest(
  value: unknown,
): { manifest: Manifest; problems: [] } | { manifest: undefined; problems: ManifestProblem[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      manifest: undefined,
      problems: [{ path: '', message: 'expected a mapping of release fields (release, image, phases, …)' }],
    };
  }
  const result = manifestIssues(value);
  if (result.manifest !== undefined) return { manifest: result.manifest, problems: [] };
  return { manifest: undefined, problems: result.issues.map(({ path, message }) => ({ path, message })) };
}

/** A problem with its path as keys too, so a merged manifest's problem can be traced to its file. */
export interface ManifestIssue extends ManifestProblem {
  keys: readonly PropertyKey[];
}

/** parseManifest over a mapping, keeping each problem's keys (validate-manifest.ts needs them). */
export function manifestIssues(
  value: object,
): { manifest: Manifest; issues: [] } | { manifest: undefined; issues: ManifestIssue[] } {
  const result = manifestSchema.safeParse(value);
  if (result.success) return { manifest: result.data, issues: [] };
  const issues: ManifestIssue[] = [];
  const add = (keys: readonly PropertyKey[], message: string) => issues.push({ keys, path: formatPath(keys), message });
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One problem per key, so each unknown key gets its own full path.
      for (const key of issue.keys) add([...issue.path, key], 'unknown key');
    } else if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
      add(issue.path, 'required');
    } else {
      add(issue.path, issue.message);
    }
  }
  return { manifest: undefined, issues };
}
