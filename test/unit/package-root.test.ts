import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { defaultKitBundlePath } from '../../src/images/kit-bundle.js';

describe('packageRoot', () => {
  it("finds leapfrog's own package.json from the running module", () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('leapfrog');
  });

  it('places the kit bundle under dist/kit of that root', () => {
    expect(defaultKitBundlePath()).toBe(join(packageRoot(), 'dist', 'kit', 'leapfrog-kit.mjs'));
  });
});
