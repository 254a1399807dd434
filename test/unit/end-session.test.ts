import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { endSession, ourSessionsEnded } from '../../src/pg/connect.js';

/** A client whose server has not closed the socket yet: end() resolves only when told to. */
function leavingClient() {
  let close = () => {};
  const calls: string[] = [];
  const client = {
    end: () => {
      calls.push('end');
      return new Promise<void>((resolve) => {
        close = resolve;
      });
    },
    unref: () => calls.push('unref'),
  };
  return { client: client as unknown as pg.Client, calls, close: () => close() };
}

describe('endSession', () => {
  it('sends the end, lets the process exit without waiting, and ourSessionsEnded waits for the server', async () => {
    const leaving = leavingClient();
    endSession(leaving.client, 'a test session');
    expect(leaving.calls).toEqual(['end', 'unref']);
    let ended = false;
    const waiting = ourSessionsEnded(5000).then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(false);
    leaving.close();
    await waiting;
    expect(ended).toBe(true);
  });

  it('ourSessionsEnded gives up after its timeout when the server never closes the socket', async () => {
    const leaving = leavingClient();
    endSession(leaving.client, 'a stuck session');
    const started = performance.now();
    await ourSessionsEnded(50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    leaving.close();
    await ourSessionsEnded(5000);
  });
});
