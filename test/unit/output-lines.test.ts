import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/executors/line-splitter.js';

describe('LineSplitter', () => {
  it('joins lines split across chunks, strips CR, and flushes a last line without newline', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push(Buffer.from('first\r\nsec'));
    splitter.push(Buffer.from('ond\n\nthi'));
    expect(lines).toEqual(['first', 'second', '']);
    splitter.push('rd');
    splitter.flush();
    expect(lines).toEqual(['first', 'second', '', 'third']);
    splitter.flush();
    expect(lines).toHaveLength(4);
  });

  it('keeps a multi-byte character that a chunk boundary cuts in two', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const bytes = Buffer.from('done ✓\n');
    const cut = bytes.indexOf(0xe2) + 1;
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
    expect(lines).toEqual(['done ✓']);
  });
});
