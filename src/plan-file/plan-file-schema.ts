import { z } from 'zod';
export { formatPath } from '../catalog/manifest-schema.js';

// The plan file's zod schema, apart from plan-file.ts so that zod loads only when a plan file is
// read (plan-file.ts imports it lazily): `apply --to` and `step --to` never load zod (issue 10).

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected "sha256:<64 hex digits>"' });
const releaseRef = z.strictObject({ release: z.string().min(1), version: z.string().min(1) });

const stepReason = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('milestone'), milestone: z.string().optional() }),
  z.strictObject({ kind: z.literal('accepts'), range: z.string(), previous: z.string() }),
  z.strictObject({ kind: z.literal('target') }),
]);

const planStep = z.strictObject({
  release: z.string().min(1),
  version: z.string().min(1),
  image: z.string().min(1).nullable(),
  imageDigest: z.string().min(1).nullable(),
  manifestDigest: digest,
  reasons: z.array(stepReason),
});

/** The plan file of DESIGN.md, version 1. Strict: a plan is machine-written data. */
export const planFileSchema = z.strictObject({
  planVersion: z.literal(1),
  from: releaseRef,
  to: releaseRef,
  steps: z.array(planStep).min(1, { error: 'a plan has at least one step' }),
  catalogDigest: digest,
  createdAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' }),
  leapfrogVersion: z.string().min(1),
  planDigest: digest,
});
