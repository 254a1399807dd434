import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';

describe('the suite PostgreSQL', () => {
  it('is a real PostgreSQL 15 server that gives each test its own database', async () => {
    await using db = await createTestDatabase();
    const rows = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    expect(rows[0]?.v).toMatch(/^15\./);
  });
});
