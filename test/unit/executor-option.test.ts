import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { withExecutor } from '../../src/cli/common-options.js';

function parse(args: string[]): string {
  const command = withExecutor(new Command('apply').exitOverride());
  command.parse(args, { from: 'user' });
  return command.opts<{ executor: string }>().executor;
}

describe('--executor', () => {
  afterEach(() => {
    delete process.env['LEAPFROG_EXECUTOR'];
  });

  it('defaults to process', () => {
    expect(parse([])).toBe('process');
  });

  it('takes its default from LEAPFROG_EXECUTOR, and a flag beats it', () => {
    process.env['LEAPFROG_EXECUTOR'] = 'docker';
    expect(parse([])).toBe('docker');
    expect(parse(['--executor', 'process'])).toBe('process');
  });

  it('refuses a kind it does not know, from the flag or the setting', () => {
    expect(() => parse(['--executor', 'k8s'])).toThrow(/k8s/);
    process.env['LEAPFROG_EXECUTOR'] = 'k8s';
    expect(() => parse([])).toThrow(/k8s/);
  });
});
