/**
 * TensorFlow.js backend selection (DESIGN.md "TensorFlow.js backends"): `auto` takes the first that
 * works of tensorflow (tfjs-node-gpu, then tfjs-node: optional, not installed by default because they
 * download libtensorflow), webgpu (Dawn from the `webgpu` package; needs a usable adapter), wasm (SIMD,
 * shipped in its package: what runs on CPU-only machines and in CI) and the plain-JS cpu backend.
 * A forced backend that cannot start is an error naming why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerDeviceSideReductionGradients } from './gradients';

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendPreference = BackendName | 'auto';

export class BackendError extends Error {
  override name = 'BackendError';
}

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  reason?: string;
}

export interface SelectedBackend {
  name: BackendName;
  /** Why each backend before the selected one was skipped. */
  attempts: BackendAttempt[];
}

/** Loads a backend's module and checks its prerequisites; `auto` is true during automatic selection. */
type Loader = (auto: boolean) => Promise<void>;

function moduleMissing(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

async function loadTensorflow(): Promise<void> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // The native bindings register the 'tensorflow' backend on import.
      require(pkg);
      if (tf.findBackendFactory('tensorflow')) return;
      errors.push(`${pkg} loaded but registered no 'tensorflow' backend on this copy of tfjs`);
    } catch (err) {
      errors.push(moduleMissing(err) ? `${pkg} is not installed` : `${pkg} failed to load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackendError(errors.join('; '));
}

/** Where Dawn will look for the Vulkan loader; without one it can only fail (and prints a warning). */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

async function loadWebgpu(auto: boolean): Promise<void> {
  if (auto && !vulkanLoaderPresent()) throw new BackendError('no Vulkan loader (libvulkan.so.1) on this machine, so Dawn can reach no GPU');
  if (!tf.findBackendFactory('webgpu')) {
    let webgpu: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
    try {
      webgpu = (await import('webgpu')) as unknown as typeof webgpu;
    } catch (err) {
      throw new BackendError(moduleMissing(err) ? 'the webgpu package is not installed' : `the webgpu package (Dawn) failed to load: ${(err as Error).message.split('\n')[0]}`);
    }
    const g = globalThis as Record<string, unknown>;
    Object.assign(g, webgpu.globals);
    if (!g.navigator || !(g.navigator as { gpu?: unknown }).gpu) {
      g.navigator = { ...((g.navigator as object) ?? {}), gpu: webgpu.create([]) };
    }
    // The backend registers itself only if navigator.gpu exists when its module loads.
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) throw new BackendError('Dawn found no usable WebGPU adapter (no GPU with a Vulkan driver here)');
  registerDeviceSideReductionGradients();
}

async function loadWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
}

const loaders: Record<BackendName, Loader> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: async () => {},
};

let current: SelectedBackend | null = null;

/** The backend chosen by the last `selectBackend` call (null before any). */
export function currentBackend(): SelectedBackend | null {
  return current;
}

async function tryBackend(name: BackendName, load: Loader, auto: boolean): Promise<string | null> {
  try {
    await load(auto);
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') failed`;
    await tf.ready();
    // A tiny op proves the backend runs.
    const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
    const value = (await probe.data())[0];
    probe.dispose();
    if (value !== 3) return `the ${name} backend computed 1 + 2 = ${value}`;
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Selects and initialises a backend. `auto` walks tensorflow → webgpu → wasm → cpu; a named backend is
 * used or fails with a BackendError. `loaderOverrides` lets tests simulate what is installed.
 */
export async function selectBackend(preference: BackendPreference = 'auto', loaderOverrides: Partial<Record<BackendName, Loader>> = {}): Promise<SelectedBackend> {
  if (preference !== 'auto' && !BACKEND_NAMES.includes(preference)) {
    throw new BackendError(`unknown backend "${String(preference)}" (expected auto, ${BACKEND_NAMES.join(', ')})`);
  }
  const order: BackendName[] = preference === 'auto' ? [...BACKEND_NAMES] : [preference];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const reason = await tryBackend(name, loaderOverrides[name] ?? loaders[name], preference === 'auto');
    attempts.push(reason === null ? { backend: name, ok: true } : { backend: name, ok: false, reason });
    if (reason === null) {
      current = { name, attempts };
      return current;
    }
  }
  const why = attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ');
  throw new BackendError(preference === 'auto' ? `no tfjs backend could start (${why})` : `the ${preference} backend cannot start: ${why.replace(`${preference}: `, '')}`);
}

export { tf };
