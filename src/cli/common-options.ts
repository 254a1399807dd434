import { InvalidArgumentError, Option, type Command } from 'commander';
import { MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from '../util/duration.js';

/** `--catalog DIR` on every verb that reads releases. */
export function withCatalog(command: Command): Command {
  return command.option('--catalog <dir>', 'folder of release manifests (<release>/release.yaml)', 'release-images');
}

/** `--database-url` and the ledger schema on every verb that touches a database. */
export function withDatabase(command: Command): Command {
  return command
    .option('--database-url <url>', 'target database (default: $DATABASE_URL, then PG* variables); never printed')
    .option('--ledger-schema <name>', "schema for leapfrog's own tables", 'leapfrog');
}

/**
 * `--executor`: a flag beats the LEAPFROG_EXECUTOR setting (a deployment's configured default,
 * e.g. docker everywhere), which beats `process`.
 */
export function executorOption(): Option {
  return new Option('--executor <kind>', 'where phase commands run: process (release folder) or docker (release image)')
    .choices(['process', 'docker'])
    .env('LEAPFROG_EXECUTOR')
    .default('process');
}

/** `--executor` on verbs that run phase commands. */
export function withExecutor(command: Command): Command {
  return (
    command
      .addOption(executorOption())
      // No commander default: absent means "the manifest's databaseUrlEnv, then DATABASE_URL".
      .option(
        '--database-url-env <name>',
        "environment variable that carries the database URL to phase commands (default: the release's databaseUrlEnv, then DATABASE_URL); leapfrog's own DATABASE_URL and PG* never reach them",
      )
      .option(
        '--docker-network <mode>',
        'docker executor: container network mode (host reaches a database on localhost)',
        'host',
      )
      .option('--docker-user <user>', "docker executor: run phase commands as this user[:group] (default: the image's)")
      .option('--docker-read-only', 'docker executor: read-only root filesystem (a tmpfs on /tmp)')
      .option(
        '--docker-socket <path>',
        'docker executor: Docker Engine unix socket (default: $DOCKER_HOST, then /var/run/docker.sock)',
      )
  );
}

/** The `--docker-*` flags of withExecutor, as the docker executor's options. */
export interface DockerFlags {
  dockerNetwork?: string;
  dockerUser?: string;
  dockerReadOnly?: boolean;
  dockerSocket?: string;
}

export function dockerExecutorOptions(flags: DockerFlags): {
  network?: string;
  user?: string;
  readOnly?: boolean;
  socketPath?: string;
  onNotice: (line: string) => void;
} {
  return {
    // Reaped leftovers and pulls: on stderr, so that stdout stays the renderer's (JSON lines for tools).
    onNotice: (line) => process.stderr.write(`leapfrog: ${line}\n`),
    ...(flags.dockerNetwork === undefined ? {} : { network: flags.dockerNetwork }),
    ...(flags.dockerUser === undefined ? {} : { user: flags.dockerUser }),
    ...(flags.dockerReadOnly === true ? { readOnly: true } : {}),
    ...(flags.dockerSocket === undefined ? {} : { socketPath: flags.dockerSocket }),
  };
}

/** Commander argument parser for durations: a bad value is a usage error (exit 2). */
export function durationArgument(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`"${value}" is not a duration (examples: 500ms, 10s, 30m, 6h)`);
  if (ms > MAX_DURATION_MS)
    throw new InvalidArgumentError(`"${value}" is longer than leapfrog takes (at most ${MAX_DURATION_TEXT})`);
  return ms;
}
