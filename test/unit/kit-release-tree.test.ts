import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KitUsageError } from '../../src/kit/kit-error.js';
import { checksumOf, loadReleaseTree } from '../../src/kit/release-tree.js';
import { formatReport, worstResult } from '../../src/kit/upgradecheck-report.js';

const RELEASES = resolve(import.meta.dirname, '../../release-images');

describe('the release tree a kit sees', () => {
  it('takes every release up to its own, each migration once, in release then file order', async () => {
    const tree = await loadReleaseTree(RELEASES, '2024.1');
    expect(tree.releases).toEqual(['2023.1', '2023.2', '2024.1']);
    expect(tree.migrations.map((m) => m.id)).toEqual([
      '2023.1/0001_customers_and_orders.sql',
      '2023.2/0001_addresses_table.sql',
      '2023.2/0002_customer_email_lower.sql',
      '2024.1/0001_order_total_cents.sql',
    ]);
    // 2024.1 accepts 2023.1, so it carries 2023.2's backfills as well as its own.
    expect(tree.dataMigrations.map((d) => `${d.release}/${d.name}`)).toEqual([
      '2023.2/backfill_customer_addresses',
      '2023.2/backfill_customer_email_lower',
      '2024.1/backfill_order_total_cents',
    ]);
    expect(tree.checks.map((c) => c.name)).toEqual(['Order totals in cents match the decimal totals']);
  });

  it("retires the data migrations a blocker names, from the blocker's release on", async () => {
    const contracting = await loadReleaseTree(RELEASES, '2024.2');
    expect(contracting.dataMigrations).toEqual([]);
    const blocker = contracting.migrations.find((m) => m.kind === 'blocker');
    expect(blocker).toMatchObject({
      id: '2024.2/0001_block_unfinished_backfills.blocker.yaml',
      requireFinished: ['backfill_customer_addresses', 'backfill_customer_email_lower', 'backfill_order_total_cents'],
    });
    const next = await loadReleaseTree(RELEASES, '2025.1');
    expect(next.dataMigrations.map((d) => d.name)).toEqual(['backfill_order_status_code']);
    // Retired migrations stay known by name, so the blocker can still count their rows.
    expect([...next.allDataMigrations.keys()]).toContain('backfill_order_total_cents');
    expect(next.migrations).toHaveLength(8);
  });

  it('ignores line endings in checksums but not edits', () => {
    expect(checksumOf('SELECT 1;\r\n')).toBe(checksumOf('SELECT 1;\n'));
    expect(checksumOf('SELECT 1;\n')).not.toBe(checksumOf('SELECT 2;\n'));
  });

  it('refuses broken release folders with the file and what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-tree-'));
    try {
      await mkdir(join(dir, '1.0/data'), { recursive: true });
      await mkdir(join(dir, '1.0/migrations'), { recursive: true });
      await writeFile(
        join(dir, '1.0/data/backfill_x.yaml'),
        'table: t\nkey: id\npending: x IS NULL\napply: UPDATE t SET x = 1\nextra: 1\n',
      );
      await expect(loadReleaseTree(dir, '1.0')).rejects.toThrow(/backfill_x\.yaml: \(top\): Unrecognized key/);

      await writeFile(
        join(dir, '1.0/data/backfill_x.yaml'),
        'table: t\nkey: id\npending: x IS NULL\napply: UPDATE t SET x = 1\n',
      );
      await writeFile(join(dir, '1.0/migrations/0001_block.blocker.yaml'), 'requireFinished: [backfill_y]\n');
      const error = await loadReleaseTree(dir, '1.0').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KitUsageError);
      expect((error as KitUsageError).message).toContain('requireFinished names "backfill_y"');

      await rm(join(dir, '1.0/migrations/0001_block.blocker.yaml'));
      await mkdir(join(dir, '2.0/data'), { recursive: true });
      await writeFile(
        join(dir, '2.0/data/backfill_x.yaml'),
        'table: t\nkey: id\npending: x IS NULL\napply: UPDATE t SET x = 2\n',
      );
      await expect(loadReleaseTree(dir, '2.0')).rejects.toThrow(/data migration backfill_x is defined twice/);
      await expect(loadReleaseTree(dir, '3.0')).rejects.toThrow(/release "3.0" has no folder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the upgradecheck report', () => {
  it("exits with the worst result and prints oslo.upgradecheck's words", () => {
    const report = {
      name: 'demo',
      checks: [
        { check: 'a', result: 0 as const, details: null },
        { check: 'b', result: 1 as const, details: 'careful' },
      ],
    };
    expect(worstResult(report)).toBe(1);
    expect(worstResult({ name: 'x', checks: [] })).toBe(0);
    expect(formatReport(report)).toContain('Check: b\n  Result: Warning\n  Details: careful');
  });
});
