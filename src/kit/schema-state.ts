import type pg from 'pg';
import { readHistory } from './history-table.js';
import type { Migration, ReleaseTree } from './release-tree.js';

/** How the database's applied migrations compare with a release's tree. */
export interface SchemaState {
  pending: readonly Migration[];
  /** Applied migrations whose file changed since: the history no longer describes the schema. */
  edited: readonly { id: string; recorded: string; current: string }[];
  /** Applied migrations this release does not know: the database is newer than the release. */
  unknown: readonly string[];
  appliedCount: number;
}

export async function readSchemaState(client: pg.ClientBase, tree: ReleaseTree): Promise<SchemaState> {
  const applied = await readHistory(client);
  const byId = new Map(tree.migrations.map((m) => [m.id, m]));
  const appliedIds = new Set(applied.map((a) => a.id));
  const edited: { id: string; recorded: string; current: string }[] = [];
  const unknown: string[] = [];
  for (const a of applied) {
    const m = byId.get(a.id);
    if (m === undefined) unknown.push(a.id);
    else if (m.checksum !== a.checksum) edited.push({ id: a.id, recorded: a.checksum, current: m.checksum });
  }
  const pending = tree.migrations.filter((m) => !appliedIds.has(m.id));
  return { pending, edited, unknown, appliedCount: applied.length };
}
