import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const CLI = resolve(REPO, 'dist/cli/main.js');

interface DemoSummaryLine {
  type: 'demo-summary';
  ok: boolean;
  plan: string[];
  seed: { customers: number; orders: number };
  summary: {
    status: string;
    finalRelease: { release: string };
    rowsMigrated: number;
    phases: { release: string; phase: string; status: string; checks: { check: string; result: number }[] }[];
  };
  before: { customers: number; orders: number; checksum: string };
  after: { customers: number; orders: number; checksum: string };
}

beforeAll(() => {
  if (!existsSync(CLI) || !existsSync(resolve(REPO, 'dist/kit/leapfrog-kit.mjs'))) {
    throw new Error('the built CLI and kit are missing: run `npm run build` (npm test does) first');
  }
});

describe('leapfrog demo (the built CLI)', () => {
  it('walks a small demo database from 2023.1 to 2025.1 with every check green and the business data intact', async () => {
    // Run from another directory: the demo must find its releases wherever it is started.
    const run = await execa('node', [CLI, '--output', 'json', 'demo', '--rows', '2000'], { cwd: '/', reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
    const summary = JSON.parse(lines.at(-1) ?? '{}') as DemoSummaryLine;
    expect(summary.type).toBe('demo-summary');
    expect(summary.ok).toBe(true);
    expect(summary.plan).toEqual(['2024.1', '2025.1']);
    expect(summary.summary.status).toBe('succeeded');
    expect(summary.summary.finalRelease.release).toBe('2025.1');

    const checks = summary.summary.phases.flatMap((p) => p.checks.map((c) => ({ release: p.release, ...c })));
    expect(checks.filter((c) => c.release === '2024.1').map((c) => c.check)).toContain(
      'Data migration backfill_order_total_cents',
    );
    expect(checks.filter((c) => c.release === '2025.1').map((c) => c.check)).toContain(
      'Order status codes match the status names',
    );
    expect(checks.every((c) => c.result === 0)).toBe(true);

    // 2024.1 backfills addresses and e-mails (500 customers each) and totals (2000 orders);
    // 2025.1 backfills status codes (2000 orders).
    expect(summary.summary.rowsMigrated).toBe(500 + 500 + 2000 + 2000);
    expect(summary.seed).toMatchObject({ customers: 500, orders: 2000 });
    expect(summary.after).toEqual(summary.before);
    expect(summary.before).toMatchObject({ customers: 500, orders: 2000 });
    expect(summary.before.checksum).toMatch(/^[0-9a-f]{32}$/);
    // The throwaway server's password is random; nothing else about the run should leak a URL.
    expect(run.stdout + run.stderr).not.toMatch(/postgres:\/\/[^\s'"]*:[^\s'"]*@/);
  });

  it('prints the human summary on a non-terminal and rejects a bad --rows before starting anything', async () => {
    const bad = await execa('node', [CLI, 'demo', '--rows', '0'], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('not a positive whole number');

    const run = await execa('node', [CLI, 'demo', '--rows', '400'], { cwd: REPO, reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('demo: baselined the database at 2023.1');
    expect(run.stdout).toMatch(/path: +2023\.1 -> 2024\.1 -> 2025\.1/);
    expect(run.stdout).toMatch(/data: +intact: 100 customers, 400 orders/);
    expect(run.stdout).toMatch(/final release: +2025\.1/);
  });
});
