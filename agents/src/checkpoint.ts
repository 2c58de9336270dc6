/**
 * Policy checkpoints (DESIGN.md "Policies"): a TensorFlow.js layers model (`model.json` + `weights.bin`,
 * outputs [policy head, value]) with `policy.json` beside it (spaces, observation normalisation, the
 * distribution, algorithm, env id), so the same files load in Node and in the browser. Training state
 * for an exact resume (optimizer moments, RNG, counters, the vector env's snapshot) goes to
 * `trainer.json` + `optimizer.bin`. Files are written to a temporary name and renamed, so a crash
 * mid-save leaves the previous checkpoint intact.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CARBALL_EPISODE_OPTIONS, carballTeamSize, validateSpace, type RngState, type Space } from '@rewardlab/sim';
import type { ActorCritic, TrainerState } from './ppo';
import type { PpoConfig } from './config';
import type { GameResults, SelfPlayState } from './selfplay';

export const POLICY_FORMAT = 'rewardlab-policy';
export const POLICY_VERSION = 1;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface PolicyFile {
  format: typeof POLICY_FORMAT;
  version: number;
  algo: 'ppo';
  envId: string;
  observationSpace: Space;
  actionSpace: Space;
  obsSize: number;
  numAgents: number;
  hiddenSizes: number[];
  activation: 'tanh' | 'relu';
  /** Gaussian policies: the state-independent log standard deviation. */
  logStd: number[] | null;
  /** Running observation statistics the policy was trained with (null: raw observations). */
  obsNormalization: { mean: number[]; var: number[]; count: number; clip: number } | null;
  rewardSpec?: unknown;
  /**
   * The options of the env the policy was trained on, JSON values only (a function, such as a custom
   * state setter, is left out); evaluation rebuilds the env's observations and actions from them.
   */
  envOptions?: Record<string, unknown>;
  /** The policy acts in [−1, 1], rescaled onto the env's box bounds (RescaleAction). */
  rescaleActions?: boolean;
  step: number;
  backend: string;
  savedAt: string;
}

export interface TrainerFile {
  format: 'rewardlab-trainer';
  version: number;
  config: PpoConfig;
  seed: number;
  totalSteps: number;
  state: TrainerState;
  /** The vector env's snapshot, where every env supports snapshots (exact resume); else null. */
  vecSnapshot: unknown;
  /** The learning curve so far ([agent step, mean return] per iteration), so a resumed run reports all of it. */
  curve: [number, number][];
  optimizer: { name: string; shape: number[] }[];
  /** Adam's running β₁ᵗ and β₂ᵗ. */
  adamAccumulators?: [number, number] | null;
  /** Self-play's pool and schedule (the pool's weights are in `selfplay.bin`). */
  selfPlay?: SelfPlayState;
  /** A scripted opponent's generator and results. */
  opponent?: { kind: string; rng: RngState; results: GameResults };
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** The policy as a layers model with the same weights (names are Keras-safe: actor_dense_0, …). */
function toLayersModel(policy: ActorCritic): tf.LayersModel {
  const input = tf.input({ shape: [policy.obsSize], name: 'obs' });
  const branch = (mlp: ActorCritic['actor'], prefix: string): tf.SymbolicTensor => {
    let h: tf.SymbolicTensor = input;
    for (let l = 0; l < mlp.numLayers; l++) {
      const isOutput = l + 1 === mlp.numLayers;
      const units = (mlp.variables[2 * l]!.shape as number[])[1]!;
      h = tf.layers.dense({ units, activation: isOutput ? 'linear' : mlp.spec.activation, name: `${prefix}_dense_${l}` }).apply(h) as tf.SymbolicTensor;
    }
    return h;
  };
  const model = tf.model({ inputs: input, outputs: [branch(policy.actor, 'actor'), branch(policy.critic, 'critic')], name: 'rewardlab_policy' });
  for (const [mlp, prefix] of [[policy.actor, 'actor'], [policy.critic, 'critic']] as const) {
    for (let l = 0; l < mlp.numLayers; l++) model.getLayer(`${prefix}_dense_${l}`).setWeights([mlp.variables[2 * l]!, mlp.variables[2 * l + 1]!]);
  }
  return model;
}

function concatBuffers(buffers: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const list = Array.isArray(buffers) ? buffers : [buffers];
  const total = list.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of list) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out;
}

export async function savePolicy(dir: string, policy: ActorCritic, meta: Omit<PolicyFile, 'format' | 'version' | 'obsSize' | 'hiddenSizes' | 'activation' | 'logStd' | 'savedAt' | 'observationSpace' | 'actionSpace'> & { observationSpace: Space; actionSpace: Space }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const model = toLayersModel(policy);
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = concatBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
        await writeAtomic(join(dir, 'weights.bin'), weights);
        const modelJson = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        await writeAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } finally {
    model.dispose();
  }
  const policyFile: PolicyFile = {
    format: POLICY_FORMAT,
    version: POLICY_VERSION,
    ...meta,
    obsSize: policy.obsSize,
    hiddenSizes: [...policy.hiddenSizes],
    activation: policy.activation,
    logStd: policy.logStd ? Array.from(await policy.logStd.data()) : null,
    savedAt: new Date().toISOString(),
  };
  await writeAtomic(join(dir, 'policy.json'), JSON.stringify(policyFile, null, 2));
}

/** `options` without function values (what policy.json can hold), or undefined when nothing is left. */
export function jsonEnvOptions(options: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!options) return undefined;
  const kept = Object.fromEntries(Object.entries(options).filter(([, v]) => typeof v !== 'function'));
  return Object.keys(kept).length ? (JSON.parse(JSON.stringify(kept)) as Record<string, unknown>) : undefined;
}

/**
 * The env options to evaluate a saved policy with: its training env's options, except, for carball,
 * the episode rules (state setter, timeouts, goal ends), which evaluation keeps at the env's defaults
 * (kickoffs, Lucy-SKG's 45 s without a touch) so that every policy is measured on the same episodes.
 */
export function evaluationEnvOptions(meta: Pick<PolicyFile, 'envId' | 'envOptions'>): Record<string, unknown> {
  const options = meta.envOptions ?? {};
  if (carballTeamSize(meta.envId) === null) return { ...options };
  return Object.fromEntries(Object.entries(options).filter(([k]) => !(CARBALL_EPISODE_OPTIONS as readonly string[]).includes(k)));
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CheckpointError(`${what} is missing: ${path}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CheckpointError(`${what} is corrupt (${path}): ${(err as Error).message}`);
  }
}

export async function readPolicyFile(dir: string): Promise<PolicyFile> {
  const p = await readJson<PolicyFile>(join(dir, 'policy.json'), 'policy.json');
  if (p.format !== POLICY_FORMAT) throw new CheckpointError(`${join(dir, 'policy.json')} is not a rewardlab policy (format ${JSON.stringify(p.format)})`);
  if (p.version !== POLICY_VERSION) throw new CheckpointError(`policy.json version ${p.version} is not supported (this build reads version ${POLICY_VERSION})`);
  try {
    validateSpace(p.observationSpace, 'policy.json observationSpace');
    validateSpace(p.actionSpace, 'policy.json actionSpace');
  } catch (err) {
    throw new CheckpointError((err as Error).message);
  }
  if (!Number.isInteger(p.obsSize) || !Array.isArray(p.hiddenSizes)) throw new CheckpointError('policy.json lacks obsSize or hiddenSizes');
  return p;
}

/** Loads the layers model's weights into `policy` (which must have the same architecture). */
export async function loadPolicyWeights(dir: string, policy: ActorCritic, file?: PolicyFile): Promise<PolicyFile> {
  const meta = file ?? (await readPolicyFile(dir));
  const modelJson = await readJson<{ modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }>(join(dir, 'model.json'), 'model.json');
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) throw new CheckpointError(`model.json in ${dir} is not a tfjs layers model`);
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  let weightData: Buffer;
  try {
    weightData = await readFile(join(dir, 'weights.bin'));
  } catch {
    throw new CheckpointError(`weights.bin is missing in ${dir}`);
  }
  const expectedBytes = specs.reduce((a, s) => a + 4 * s.shape.reduce((x, y) => x * y, 1), 0);
  if (weightData.byteLength !== expectedBytes) throw new CheckpointError(`weights.bin in ${dir} has ${weightData.byteLength} bytes, model.json describes ${expectedBytes}: the checkpoint is corrupt or truncated`);
  const arrayBuffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData: arrayBuffer }));
  try {
    const targets = [...policy.actor.variables, ...policy.critic.variables];
    const weights: tf.Tensor[] = [];
    for (const [mlp, prefix] of [[policy.actor, 'actor'], [policy.critic, 'critic']] as const) {
      for (let l = 0; l < mlp.numLayers; l++) {
        let layer: tf.layers.Layer;
        try {
          layer = model.getLayer(`${prefix}_dense_${l}`);
        } catch {
          throw new CheckpointError(`model.json in ${dir} has no layer ${prefix}_dense_${l}: it does not match this policy's architecture (${policy.hiddenSizes.join('×')})`);
        }
        weights.push(...layer.getWeights());
      }
    }
    if (weights.length !== targets.length) throw new CheckpointError(`the checkpoint has ${weights.length} weight tensors, this policy ${targets.length}`);
    for (const [i, w] of weights.entries()) {
      if (w.shape.join('x') !== targets[i]!.shape.join('x')) throw new CheckpointError(`weight ${i} (${targets[i]!.name}) has shape [${w.shape}] in the checkpoint, [${targets[i]!.shape}] in this policy`);
      const values = await w.data();
      for (let k = 0; k < values.length; k++) if (!Number.isFinite(values[k]!)) throw new CheckpointError(`weight ${i} in ${dir} holds a non-finite value`);
      targets[i]!.assign(w);
    }
    if (policy.logStd) {
      if (!meta.logStd || meta.logStd.length !== policy.logStd.shape[0]) throw new CheckpointError('policy.json lacks the Gaussian log-std of this policy');
      policy.logStd.assign(tf.tensor1d(meta.logStd));
    }
  } finally {
    model.dispose();
  }
  return meta;
}

/** Writes self-play's pool weights next to trainer.json (whose `selfPlay` describes them). */
export async function saveSelfPlayWeights(dir: string, weights: Float32Array): Promise<void> {
  await writeAtomic(join(dir, 'selfplay.bin'), new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
}

/** Reads the pool weights that trainer.json's `selfPlay` describes. */
export async function loadSelfPlayWeights(dir: string, state: SelfPlayState): Promise<Float32Array> {
  const buf = await readFile(join(dir, 'selfplay.bin')).catch(() => {
    throw new CheckpointError(`selfplay.bin is missing in ${dir} (trainer.json describes a self-play pool)`);
  });
  const expected = 4 * state.entries.reduce((a, e) => a + e.sizes.reduce((x, y) => x + y, 0), 0);
  if (buf.byteLength !== expected) throw new CheckpointError(`selfplay.bin in ${dir} has ${buf.byteLength} bytes, trainer.json describes ${expected}`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

export async function saveTrainerState(dir: string, optimizer: tf.Optimizer, trainer: Omit<TrainerFile, 'format' | 'version' | 'optimizer'>): Promise<void> {
  const weights = await optimizer.getWeights();
  const parts = await Promise.all(weights.map(async (w) => new Uint8Array((await w.tensor.data()).slice().buffer)));
  const manifest = weights.map((w) => ({ name: w.name, shape: w.tensor.shape }));
  const bytes = concatBuffers(parts.map((p) => p.buffer as ArrayBuffer));
  await writeAtomic(join(dir, 'optimizer.bin'), bytes);
  const file: TrainerFile = { format: 'rewardlab-trainer', version: 1, ...trainer, optimizer: manifest, adamAccumulators: await adamAccumulators(optimizer) };
  await writeAtomic(join(dir, 'trainer.json'), JSON.stringify(file));
}

export async function loadTrainerState(dir: string, optimizer: tf.Optimizer): Promise<TrainerFile> {
  const file = await readJson<TrainerFile>(join(dir, 'trainer.json'), 'trainer.json');
  if (file.format !== 'rewardlab-trainer') throw new CheckpointError(`${join(dir, 'trainer.json')} is not a rewardlab trainer state`);
  const buf = await readFile(join(dir, 'optimizer.bin')).catch(() => {
    throw new CheckpointError(`optimizer.bin is missing in ${dir}`);
  });
  const expected = file.optimizer.reduce((a, w) => a + 4 * w.shape.reduce((x, y) => x * y, 1), 0);
  if (buf.byteLength !== expected) throw new CheckpointError(`optimizer.bin in ${dir} has ${buf.byteLength} bytes, trainer.json describes ${expected}`);
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  let off = 0;
  const named = file.optimizer.map((w) => {
    const n = w.shape.reduce((x, y) => x * y, 1);
    const t = tf.tensor(floats.subarray(off, off + n), w.shape);
    off += n;
    return { name: w.name, tensor: t };
  });
  await optimizer.setWeights(named);
  named.forEach((n) => n.tensor.dispose());
  // tfjs's Adam recomputes β₁ᵗ, β₂ᵗ as powers on load, which rounds differently from the running
  // products it kept while training; restore the saved products so a resume is exact.
  const acc = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (file.adamAccumulators && acc.accBeta1 && acc.accBeta2) {
    acc.accBeta1.assign(tf.scalar(file.adamAccumulators[0]));
    acc.accBeta2.assign(tf.scalar(file.adamAccumulators[1]));
  }
  return file;
}

async function adamAccumulators(optimizer: tf.Optimizer): Promise<[number, number] | null> {
  const acc = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (!acc.accBeta1 || !acc.accBeta2) return null;
  return [(await acc.accBeta1.data())[0]!, (await acc.accBeta2.data())[0]!];
}

export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, 'policy.json'));
}
