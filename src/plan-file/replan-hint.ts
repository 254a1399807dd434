import { nextCommand } from '../util/next-command.js';

/** "leapfrog plan --from X --to Y --out FILE", with the ids taken from the plan when it has them. */
export function replanHint(plan: unknown, path: string): string {
  const id = (field: 'from' | 'to'): string => {
    if (plan !== null && typeof plan === 'object' && field in plan) {
      const ref = (plan as Record<string, unknown>)[field];
      if (ref !== null && typeof ref === 'object' && 'release' in ref && typeof ref.release === 'string') return ref.release;
    }
    return '<release>';
  };
  return `plan again with: ${nextCommand('plan', '--from', id('from'), '--to', id('to'), '--out', path)}`;
}
