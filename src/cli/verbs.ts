import type { Command } from 'commander';
import { register as apply } from './apply.js';
import { register as backup } from './backup.js';
import { register as backups } from './backups.js';
import { register as baseline } from './baseline.js';
import { register as demo } from './demo.js';
import { register as images } from './images.js';
import { register as plan } from './plan.js';
import { register as rehearse } from './rehearse.js';
import { register as releases } from './releases.js';
import { register as restore } from './restore.js';
import { register as status } from './status.js';
import { register as step } from './step.js';
import { register as toolchains } from './toolchains.js';
import { register as validate } from './validate.js';

/** Every verb, in the order `leapfrog --help` lists them: the operator's path first. */
export function registerVerbs(program: Command): void {
  for (const register of [
    releases,
    plan,
    baseline,
    step,
    apply,
    status,
    backup,
    backups,
    restore,
    rehearse,
    validate,
    images,
    toolchains,
    demo,
  ]) {
    register(program);
  }
}
