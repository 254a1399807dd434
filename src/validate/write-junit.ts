import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { junitXml } from './junit-report.js';
import { logger } from '../util/logger.js';
import type { ValidationCase } from './validation-case.js';

const log = logger('validate');

export async function writeJunit(path: string, cases: readonly ValidationCase[]): Promise<void> {
  log.debug(`writing the JUnit report ${path} (${cases.length} cases)`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, junitXml(cases));
}
