import { readFileSync } from 'node:fs';

/** The package version, recorded in plan files so a plan says what wrote it. */
export function leapfrogVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
