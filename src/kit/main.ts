// `leapfrog-kit --release ID --sources DIR schema | data | check`: the release kit the demo
// releases run in their folder or image. Bundled by scripts/bundle-kit.mjs into one file that
// needs only Node. Each command speaks one leapfrog protocol and its exit codes are the contract.
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { redact } from '../util/redact.js';
import { runChecks, runPreflight } from './check-command.js';
import { connectionLost, connectKit, databaseUrlFromEnv, secretsOf } from './connect.js';
import { runDataMigrations } from './data-command.js';
import { KitError, KitUsageError } from './kit-error.js';
import { loadReleaseTree, type ReleaseTree } from './release-tree.js';
import { applySchema } from './schema-command.js';
import { formatReport, worstResult } from './upgradecheck-report.js';

const USAGE = `usage: leapfrog-kit schema
       leapfrog-kit data [--max-count N] [--transaction-rows N]
       leapfrog-kit check [--json] [--preflight]
(run through a release's bin/leapfrog-kit; the database comes from DATABASE_URL)`;

type Command = 'schema' | 'data' | 'check';

/** What each protocol calls "bad input" and "failed". */
const EXIT: Record<Command, { usage: number; failed: number }> = {
  schema: { usage: 2, failed: 1 },
  data: { usage: 127, failed: 2 },
  check: { usage: 255, failed: 255 },
};

const DEFAULT_TRANSACTION_ROWS = 2000;

let secrets: string[] = [];
const say = (stream: NodeJS.WriteStream, text: string) => stream.write(`${redact(text, secrets)}\n`);
const log = (line: string) => say(process.stderr, `leapfrog-kit: ${line}`);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        release: { type: 'string' },
        sources: { type: 'string' },
        'max-count': { type: 'string' },
        'transaction-rows': { type: 'string' },
        json: { type: 'boolean', default: false },
        preflight: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    say(process.stderr, `leapfrog-kit: ${(error as Error).message}\n${USAGE}`);
    const command = commandOf(argv);
    return command === undefined ? 2 : EXIT[command].usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    say(process.stdout, USAGE);
    return 0;
  }
  const command = positionals[0];
  if (command !== 'schema' && command !== 'data' && command !== 'check') {
    say(process.stderr, `leapfrog-kit: unknown command "${command ?? ''}"\n${USAGE}`);
    return 2;
  }
  try {
    if (positionals.length > 1) throw new KitUsageError(`unexpected argument "${positionals[1]}"`, USAGE);
    if (values.release === undefined || values.sources === undefined) {
      throw new KitUsageError(
        '--release and --sources are required',
        "run the kit through the release's bin/leapfrog-kit",
      );
    }
    const tree = await loadReleaseTree(values.sources, values.release);
    const url = databaseUrlFromEnv(process.env);
    secrets = secretsOf(url);
    const client = await connectKit(url);
    try {
      return await run(command, tree, client, values);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (caught) {
    const error = connectionLost(caught) ?? caught;
    if (error instanceof KitError) {
      say(process.stderr, `leapfrog-kit ${command}: ${error.message}\n  next: ${error.hint}`);
      return error instanceof KitUsageError ? EXIT[command].usage : EXIT[command].failed;
    }
    say(process.stderr, `leapfrog-kit ${command}: ${(error as Error).message ?? String(error)}`);
    return EXIT[command].failed;
  }
}

async function run(
  command: Command,
  tree: ReleaseTree,
  client: pg.Client,
  values: {
    'max-count'?: string | undefined;
    'transaction-rows'?: string | undefined;
    json?: boolean | undefined;
    preflight?: boolean | undefined;
  },
): Promise<number> {
  switch (command) {
    case 'schema': {
      const result = await applySchema(client, tree, log);
      log(
        `release ${tree.release}: ${result.applied.length} migrations applied, ${result.alreadyApplied} were already`,
      );
      return 0;
    }
    case 'data': {
      const maxCount = positiveInt(values['max-count'], '--max-count', Number.MAX_SAFE_INTEGER);
      const transactionRows = positiveInt(
        values['transaction-rows'] ?? process.env['LEAPFROG_KIT_TRANSACTION_ROWS'],
        '--transaction-rows',
        DEFAULT_TRANSACTION_ROWS,
      );
      const result = await runDataMigrations(client, tree, {
        maxCount,
        transactionRows,
        log,
        onProgress: (progress) => say(process.stdout, JSON.stringify({ progress })),
      });
      log(
        `migrated ${result.migrated} rows in ${result.transactions} transactions (longest ${Math.round(result.longestTransactionMs)} ms, p95 ${Math.round(result.p95TransactionMs)} ms)` +
          (result.errors > 0 ? `, ${result.errors} data migrations failed` : '') +
          ` -> exit ${result.exitCode}`,
      );
      return result.exitCode;
    }
    case 'check': {
      const report = values.preflight === true ? await runPreflight(client, tree) : await runChecks(client, tree);
      say(process.stdout, values.json === true ? JSON.stringify(report) : formatReport(report));
      return worstResult(report);
    }
  }
}

function positiveInt(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new KitUsageError(`${flag} must be a positive integer, got "${raw}"`, `pass e.g. ${flag} 5000`);
  return n;
}

function commandOf(argv: string[]): Command | undefined {
  return argv.find((a): a is Command => a === 'schema' || a === 'data' || a === 'check');
}

process.exitCode = await main(process.argv.slice(2));
