import { describe, expect, it } from 'vitest';
import { identifierWithSuffix, quoteIdent } from '../../src/pg/sql-text.js';
import { scratchName } from '../../src/rehearse/scratch-database.js';

describe('identifierWithSuffix', () => {
  it('keeps the whole suffix within 63 bytes of UTF-8, cutting the base at a character boundary', () => {
    const ascii = identifierWithSuffix('a'.repeat(80), '_lf_restore_0a1b2c3d');
    expect(Buffer.byteLength(ascii)).toBe(63);
    expect(ascii.endsWith('_lf_restore_0a1b2c3d')).toBe(true);

    // 29 two-byte characters: 63 bytes with its prefix, the longest name PostgreSQL keeps.
    const source = `hunt_${'é'.repeat(29)}`;
    const cut = identifierWithSuffix(source, '_lf_restore_0a1b2c3d');
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(63);
    expect(cut.endsWith('_lf_restore_0a1b2c3d')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(source.startsWith(cut.slice(0, -'_lf_restore_0a1b2c3d'.length))).toBe(true);
  });

  it('leaves a short name whole', () => {
    expect(identifierWithSuffix('shop', '_rehearsal_00ff00ff')).toBe('shop_rehearsal_00ff00ff');
  });
});

describe('scratchName', () => {
  it('is never the source database, even for a 63-byte non-ASCII name', () => {
    const source = `hunt_${'é'.repeat(29)}`;
    const name = scratchName(source);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name).toMatch(/_rehearsal_[0-9a-f]{8}$/);
    expect(name).not.toBe(source);
  });
});

describe('quoteIdent', () => {
  it('doubles the quotes inside a name', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });
});
