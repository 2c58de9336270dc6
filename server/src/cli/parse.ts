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

/** `--set key=value` / `--env-option key=value` (repeatable): JSON-parsed when it parses (numbers, booleans, arrays, objects). */
export function setting(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return { ...previous, [key]: parsed };
}
