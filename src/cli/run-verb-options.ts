import { Option, type Command } from 'commander';
import { durationArgument, type DockerFlags } from './common-options.js';

/** The flags `step` and `apply` share beyond catalog, database and executor. */
export function withRunOptions(command: Command): Command {
  return command.addOption(
    new Option('--lock-timeout <duration>', 'how long to wait for another run to release the ledger lock')
      .argParser(durationArgument)
      .default(10_000, '10s'),
  );
}

export interface RunVerbOptions extends DockerFlags {
  catalog: string;
  databaseUrl?: string;
  ledgerSchema: string;
  executor?: 'process' | 'docker';
  /** Absent when not given: the manifest's databaseUrlEnv, then DATABASE_URL. */
  databaseUrlEnv?: string;
  lockTimeout: number;
}
