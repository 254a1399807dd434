import { describe, expect, it } from 'vitest';
import { LineSplitter, OutputLines } from '../../src/executors/output-lines.js';

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

describe('OutputLines', () => {
  it('splits each stream on its own and hands on every line with its stream', () => {
    const seen: string[] = [];
    const output = new OutputLines((line, stream) => seen.push(`${stream}:${line}`));
    output.write('stdout', Buffer.from('out one\nout t'));
    output.write('stderr', Buffer.from('err one\r\nerr'));
    output.write('stdout', Buffer.from('wo\n'));
    output.end();
    expect(seen).toEqual(['stdout:out one', 'stderr:err one', 'stdout:out two', 'stderr:err']);
    expect(output.tail()).toEqual(['out one', 'err one', 'out two', 'err']);
  });

  it('keeps only the last lines of both streams, long lines cut in the tail but whole in onLine', () => {
    const seen: string[] = [];
    const output = new OutputLines((line) => seen.push(line), 3);
    const long = 'x'.repeat(2500);
    output.write('stdout', `1\n2\n${long}\n`);
    output.write('stderr', '4\n5\n');
    output.end();
    expect(seen).toEqual(['1', '2', long, '4', '5']);
    expect(output.tail()).toEqual([`${'x'.repeat(2000)}…`, '4', '5']);
  });
});
