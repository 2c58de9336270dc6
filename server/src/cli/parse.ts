import { InvalidArgumentError } from 'commander';
import { BACKEND_NAMES, type BackendPreference } from '@rewardlab/agents';

/** commander argument parsers that reject bad numbers with a message naming the expectation. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** `--backend`: auto or one of the tfjs backends. */
export function backendOption(value: string): BackendPreference {
  if (value !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected auto, ${BACKEND_NAMES.join(', ')}; got "${value}"`);
  return value as BackendPreference;
}
