/**
 * What both reward wrappers (`withReward` on an env, `withVecReward` on a vector) read from a step and
 * write back to its info. Internal to the package: not re-exported from the index.
 */
import type { CarballState } from '@rewardlab/sim';
import { cloneCarballState, isCarballState } from './carball';

/** Per-slot events from `info.agents[slot].events` (undefined where the env reports none). */
export function eventsOf(info: Record<string, unknown>, numSlots: number): (Record<string, number> | undefined)[] {
  const agents = info.agents as ({ events?: Record<string, number> } | undefined)[] | undefined;
  const out: (Record<string, number> | undefined)[] = [];
  for (let i = 0; i < numSlots; i++) out.push(Array.isArray(agents) ? agents[i]?.events : undefined);
  return out;
}

/** A copy of what `getState()` returned, checked to be a carball state (the env may reuse its object). */
export function copyCarballState(state: unknown, source: string): CarballState {
  if (!isCarballState(state)) throw new TypeError(`${source} did not return a carball state`);
  return cloneCarballState(state);
}

/** `info.rewardComponents`: component name → one plain number per agent slot. */
export function componentArrays(components: Record<string, Float64Array>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(components)) out[name] = Array.from(values);
  return out;
}
