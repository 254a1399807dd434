import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { junitXml } from './junit-report.js';
import type { ValidationCase } from './validation-case.js';

export async function writeJunit(path: string, cases: readonly ValidationCase[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, junitXml(cases));
}
