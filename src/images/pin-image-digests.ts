import { existsSync } from 'node:fs';
import type { Plan } from '../planner/plan.js';
import { tryConnectDocker } from './docker-connection.js';
import { imageDigest } from './image-digest.js';

/**
 * Records each step's image digest in a plan about to be saved, when a Docker Engine answers and
 * the image is present; otherwise the step keeps `imageDigest: null` (a process-executor shop
 * may have no Docker at all). dockerode is loaded only when a socket is there to talk to, so
 * `plan --out` stays fast on machines without Docker.
 */
export async function pinImageDigests(plan: Plan): Promise<Plan> {
  if (!dockerSocketLikelyPresent()) return plan;
  const docker = await tryConnectDocker();
  if (docker === null) return plan;
  const steps = [];
  for (const step of plan.steps)
    steps.push({ ...step, imageDigest: step.image === null ? null : await imageDigest(step.image, docker) });
  return { ...plan, steps };
}

function dockerSocketLikelyPresent(): boolean {
  const host = process.env['DOCKER_HOST'];
  if (host !== undefined && host !== '') return true;
  return existsSync('/var/run/docker.sock');
}
