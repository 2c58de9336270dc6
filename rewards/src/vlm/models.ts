/**
 * Models that ship with rewardlab. `rewardlab-small` is the contrastive image–text model the project
 * trains itself on rendered door-open and CartPole frames (`rewardlab vlm train`), kept small enough to
 * live in the repository; a real CLIP is a directory on disk, named by its path.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Built-in model names → their directories inside this package. */
export const BUILTIN_VLM_MODELS: Readonly<Record<string, string>> = {
  'rewardlab-small': join(__dirname, '..', '..', 'models', 'vlm-small'),
};

/** The directory of a `vlm` node's `model`: a built-in name, else the path itself (absolute). */
export function resolveVlmModel(model: string): string {
  const builtin = BUILTIN_VLM_MODELS[model];
  if (builtin !== undefined && !existsSync(model)) return builtin;
  return resolve(model);
}
