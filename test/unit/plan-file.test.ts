import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, ExitCode, LeapfrogError, StalePlanError } from '../../src/errors/index.js';
import { canonicalJson, planDigestOf, readPlanFile, writePlanFile } from '../../src/plan-file/plan-file.js';
import { assertPlanMatchesCatalog } from '../../src/plan-file/plan-match.js';
import { planPath } from '../../src/planner/plan-path.js';
import { catalogBuilder, slurpCatalog } from '../helpers/catalog-builder.js';

const meta = { createdAt: '2025-01-02T03:04:05.678Z', leapfrogVersion: '0.1.0' };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-plan-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<LeapfrogError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LeapfrogError);
  return error as LeapfrogError;
}

async function edit(path: string, change: (json: Record<string, unknown>) => void): Promise<string> {
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  change(json);
  const edited = `${path}.edited.json`;
  await writeFile(edited, JSON.stringify(json));
  return edited;
}

describe('plan files', () => {
  const catalog = slurpCatalog();
  const plan = planPath(catalog, '2023.1', '2025.1');

  it('round-trips: written, read back equal, digest pinned', async () => {
    const path = join(dir, 'nested', 'plans', '2023.1-to-2025.1.json');
    const written = await writePlanFile(path, plan, meta);
    expect(written.planDigest).toBe(planDigestOf(plan));
    const read = await readPlanFile(path);
    expect(read).toEqual(written);
    expect(read.steps.map((s) => s.release)).toEqual(['2024.1', '2025.1']);
    expect(read.createdAt).toBe(meta.createdAt);
    assertPlanMatchesCatalog(read, catalog);
  });

  it('the digest is over canonical JSON: key order does not matter, content does', () => {
    const reordered = JSON.parse(canonicalJson(plan)) as typeof plan;
    expect(planDigestOf(reordered)).toBe(planDigestOf(plan));
    expect(planDigestOf({ ...plan, to: { release: '2024.2', version: '2024.2.0' } })).not.toBe(planDigestOf(plan));
  });

  it('a tampered plan is stale (exit 6) with the re-plan command', async () => {
    const path = join(dir, 'tamper.json');
    await writePlanFile(path, plan, meta);
    const edited = await edit(path, (json) => {
      (json['steps'] as { release: string }[]).splice(0, 1);
    });
    const error = await rejection(readPlanFile(edited));
    expect(error).toBeInstanceOf(StalePlanError);
    expect(error.exitCode).toBe(ExitCode.stalePlan);
    expect(error.message).toContain('planDigest does not match');
    expect(error.hint).toBe(`plan again with: leapfrog plan --from 2023.1 --to 2025.1 --out ${edited}`);
  });

  it('another planVersion is stale (exit 6)', async () => {
    const path = join(dir, 'version.json');
    await writePlanFile(path, plan, meta);
    const error = await rejection(readPlanFile(await edit(path, (json) => (json['planVersion'] = 2))));
    expect(error.exitCode).toBe(ExitCode.stalePlan);
    expect(error.message).toContain('planVersion 2');
  });

  it('malformed JSON is bad input (exit 2) naming the file', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"planVersion": 1, ');
    const error = await rejection(readPlanFile(path));
    expect(error).toBeInstanceOf(BadInputError);
    expect(error.message).toContain(`plan file ${path} is not valid JSON`);
  });

  it('a wrong shape is bad input (exit 2) naming each field', async () => {
    const path = join(dir, 'shape.json');
    await writePlanFile(path, plan, meta);
    const edited = await edit(path, (json) => {
      (json['steps'] as Record<string, unknown>[])[1]!['manifestDigest'] = 'md5:abc';
      json['secretUrl'] = 'postgres://x';
      delete json['catalogDigest'];
    });
    const error = await rejection(readPlanFile(edited));
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.message).toContain('steps[1].manifestDigest: expected "sha256:<64 hex digits>"');
    expect(error.message).toContain('secretUrl: unknown key');
    expect(error.message).toContain('catalogDigest:');
  });

  it('a missing plan file is bad input with the command that writes one', async () => {
    const error = await rejection(readPlanFile(join(dir, 'absent.json')));
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.hint).toContain('leapfrog plan --from <release> --to <release> --out');
  });
});

describe('assertPlanMatchesCatalog', () => {
  const build = (env: Record<string, string> = {}, extra = false) => {
    const builder = catalogBuilder()
      .release('2023.1', { milestone: true })
      .release('2023.2')
      .release('2024.1', { milestone: true, upgradeFrom: '>=2023.1.0 <2024.1.0', env })
      .release('2024.2')
      .release('2025.1', { milestone: true, upgradeFrom: '>=2024.1.0 <2025.1.0' });
    if (extra) builder.release('2025.2');
    return builder.build();
  };

  it('names the release whose manifest changed (exit 6) and how to re-plan', async () => {
    const path = join(dir, 'stale.json');
    await writePlanFile(path, planPath(build(), '2023.1', '2025.1'), meta);
    const file = await readPlanFile(path);
    let error: unknown;
    try {
      assertPlanMatchesCatalog(file, build({ LOG: 'debug' }), path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StalePlanError);
    expect((error as StalePlanError).message).toBe(
      `the manifest of 2024.1 (/catalog/2024.1/release.yaml) changed since plan ${path} was made`,
    );
    expect((error as StalePlanError).hint).toBe(
      `plan again with: leapfrog plan --from 2023.1 --to 2025.1 --out ${path}`,
    );
  });

  it('refuses a plan when a release was added to the catalog', async () => {
    const path = join(dir, 'added.json');
    await writePlanFile(path, planPath(build(), '2023.1', '2025.1'), meta);
    const file = await readPlanFile(path);
    expect(() => assertPlanMatchesCatalog(file, build({}, true), path)).toThrow(
      /the catalog \/catalog changed since plan/,
    );
  });
});
