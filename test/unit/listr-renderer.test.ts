// The listr2 view fed with runner events (issue 9, item 7): the backup is its own task between the
// preflight and the first command that can change the database, and shows nothing when there is
// no backup; a phase left running by an error does not look done. Off a terminal (as here)
// listr2 draws with its line renderer; the task tree is the same one the terminal sees.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PhaseRef, RunnerEvent } from '../../src/runner/events.js';
import { ListrRenderer } from '../../src/ui/listr-renderer.js';

const release = '2024.1';
const preflight: PhaseRef = { release, phase: 'preflight', name: 'preflight' };
const schema: PhaseRef = { release, phase: 'schema', name: 'db' };
const data: PhaseRef = { release, phase: 'data', name: 'data' };
const path = '/srv/backups/shop-2023.1-20261201T220000Z.dump';

let written: string[] = [];
beforeEach(() => {
  written = [];
  // listr2's line renderer writes failures to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

const tick = () => new Promise((r) => setTimeout(r, 20));

function finished(ref: PhaseRef): RunnerEvent {
  return {
    type: 'phase-finished',
    ...ref,
    status: 'succeeded',
    exitCode: 0,
    durationMs: 1_000,
    rowsMigrated: ref.phase === 'data' ? 10 : null,
    message: null,
  };
}

async function play(r: ListrRenderer, events: readonly RunnerEvent[]): Promise<string> {
  for (const event of events) {
    r.onEvent(event);
    await tick();
  }
  await r.stop();
  return written.join('');
}

const start: RunnerEvent[] = [
  {
    type: 'run-started',
    runId: 'r1',
    mode: 'apply',
    from: { release: '2023.1', version: '2023.1.0' },
    to: { release, version: '2024.1.0' },
    steps: [release],
    pending: [release],
  },
  { type: 'step-started', release, version: '2024.1.0', index: 0, phases: [preflight, schema, data] },
  { type: 'phase-started', ...preflight, attempt: 1 },
  finished(preflight),
];

describe('ListrRenderer', () => {
  it('shows the backup as its own task after the preflight, with its path and size', async () => {
    const text = await play(new ListrRenderer(), [
      ...start,
      { type: 'backup-started', path, database: 'shop', release: '2023.1' },
      { type: 'backup-progress', path, bytes: 1024 * 1024, elapsedMs: 1_500 },
      { type: 'backup-finished', path, bytes: 3 * 1024 * 1024, sha256: 'ab'.repeat(32), durationMs: 4_200 },
      { type: 'phase-started', ...schema, attempt: 1 },
      finished(schema),
      { type: 'phase-started', ...data, attempt: 1 },
      finished(data),
    ]);
    expect(text).toContain(`backup: 3.0 MiB in 4.2s → ${path}`);
    const order = ['preflight 1.0s', `backup: 3.0 MiB`, 'schema db 1.0s'].map((s) => text.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("on a terminal the backup task's title grows with the dump: size so far and path", async () => {
    // listr2's terminal renderer, forced: the line renderer above prints no title changes.
    const wasTTY = process.stdout.isTTY;
    process.env['LISTR_FORCE_TTY'] = '1';
    try {
      const r = new ListrRenderer();
      for (const event of [...start, { type: 'backup-started', path, database: 'shop', release: '2023.1' } as const]) {
        r.onEvent(event);
        await tick();
      }
      r.onEvent({ type: 'backup-progress', path, bytes: 1024 * 1024, elapsedMs: 1_500 });
      await new Promise((res) => setTimeout(res, 300));
      await play(r, [
        { type: 'backup-finished', path, bytes: 3 * 1024 * 1024, sha256: 'ab'.repeat(32), durationMs: 4_200 },
      ]);
    } finally {
      delete process.env['LISTR_FORCE_TTY'];
      process.stdout.isTTY = wasTTY;
      process.stderr.isTTY = wasTTY;
    }
    const text = written.join('');
    // (listr2 wraps at 80 columns off a real terminal: the path is on the next line here.)
    expect(text).toContain('backup of shop at 2023.1: 1.0 MiB so far (1.5s) →');
    expect(text).toContain(`backup: 3.0 MiB in 4.2s → ${path}`);
  });

  it('a failed backup fails its task and names the file', async () => {
    const text = await play(new ListrRenderer(), [
      ...start,
      { type: 'backup-started', path, database: 'shop', release: '2023.1' },
      { type: 'backup-failed', path, message: 'pg_dump exited with code 1' },
    ]);
    expect(text).toContain(`backup failed: pg_dump exited with code 1 (${path})`);
    expect(text).not.toContain('schema db 1.0s');
  });

  it('no backup: nothing about one, the phases run as before', async () => {
    const text = await play(new ListrRenderer(), [
      ...start,
      { type: 'phase-started', ...schema, attempt: 1 },
      finished(schema),
    ]);
    expect(text).not.toContain('backup');
    expect(text).toContain('schema db 1.0s');
  });

  it('a phase still running when the run ends on an error shows as stopped, the rest as not run', async () => {
    const text = await play(new ListrRenderer(), [...start, { type: 'phase-started', ...schema, attempt: 1 }]);
    expect(text).toContain('schema db (stopped)');
    expect(text).not.toMatch(/✔ schema db/);
    expect(text).not.toContain('data (stopped)');
  });
});
