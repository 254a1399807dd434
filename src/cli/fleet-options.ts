import { InvalidArgumentError } from 'commander';

/** `--parallel N` of `apply --fleet` / `step --fleet`: a positive integer, or a usage error (exit 2). */
export function parallelArgument(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024)
    throw new InvalidArgumentError(`"${value}" is not a number from 1 to 1024`);
  return n;
}
