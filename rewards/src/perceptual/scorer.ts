/**
 * `PerceptualScorer`: the `perceptual` reward node's frame scorer. It draws states as the demonstrations
 * were drawn (the model records their frame size and camera), reads Inception V3 features of the frames
 * and pays the learned reward (reward-model.ts): one value per frame, later steps paying more.
 * Features are cached by scene pose, as the VLM scorer caches embeddings.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { CameraOption, FrameRenderer, RenderFrame } from '@rewardlab/render';
import type { ReplayScene } from '@rewardlab/sim';
import { PerceptualRewardError } from './errors';
import { loadInceptionFeatures, type InceptionFeatureExtractor, type PerceptualPooling } from './features';
import { loadPerceptualRewardModel, perceptualReward, perceptualStepRewards, type PerceptualRewardModel } from './reward-model';

/** A `perceptual` node's parameters. */
export interface PerceptualTermParams {
  /** The reward model file written by `rewardlab reward learn`. */
  model: string;
  /** Overrides the demonstrations' camera. */
  camera?: CameraOption;
  /** Overrides the demonstrations' frame side (pixels). */
  size?: number;
}


const sceneKeys = new WeakMap<ReplayScene, string>();
function sceneKeyOf(scene: ReplayScene): string {
  let key = sceneKeys.get(scene);
  if (key === undefined) sceneKeys.set(scene, (key = createHash('sha1').update(JSON.stringify(scene)).digest('hex')));
  return key;
}

export class PerceptualScorer {
  readonly stats = { frames: 0, extracted: 0, cacheHits: 0, batches: 0 };
  private readonly cache = new Map<string, number>();
  readonly width: number;
  readonly height: number;
  readonly camera: CameraOption | undefined;

  private constructor(
    readonly params: PerceptualTermParams,
    readonly model: PerceptualRewardModel,
    private readonly features: InceptionFeatureExtractor,
    private readonly renderer: FrameRenderer,
    private readonly cacheSize: number,
  ) {
    const frames = model.frames;
    this.width = params.size ?? frames?.width ?? 128;
    this.height = params.size ?? frames?.height ?? this.width;
    this.camera = params.camera ?? frames?.camera;
  }

  static async create(params: PerceptualTermParams, options: { renderer: FrameRenderer; cacheSize?: number }): Promise<PerceptualScorer> {
    const model = loadPerceptualRewardModel(resolve(params.model));
    const { layers, pooling, inputSize } = model.featureSource;
    const features = await loadInceptionFeatures({ ...(layers ? { layers } : {}), ...(pooling ? { pooling: pooling as PerceptualPooling } : {}), ...(inputSize ? { inputSize } : {}) });
    if (features.dim !== model.dim) {
      features.dispose();
      throw new PerceptualRewardError(`${params.model}: the model expects ${model.dim} features per frame, the feature extractor (${features.layers.join(', ')}, ${features.pooling}) gives ${features.dim}`);
    }
    return new PerceptualScorer(params, model, features, options.renderer, options.cacheSize ?? 4096);
  }

  private queue: { scene: ReplayScene; frame: RenderFrame; envId: string | undefined; resolve: (v: number) => void; reject: (e: unknown) => void }[] = [];
  private flushScheduled = false;

  /**
   * The learned reward of each frame of `scene`. Frames asked for during one turn of the event loop (every
   * env of a vector, each through its own wrapper) are drawn and featurised together.
   */
  scoreAll(scene: ReplayScene, frames: readonly RenderFrame[], envId?: string): Promise<Float64Array> {
    const values = frames.map(
      (frame) =>
        new Promise<number>((resolve, reject) => {
          this.queue.push({ scene, frame: { transforms: Float32Array.from(frame.transforms), ...(frame.signals ? { signals: Float32Array.from(frame.signals) } : {}) }, envId, resolve, reject });
        }),
    );
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    return Promise.all(values).then((v) => Float64Array.from(v));
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    const groups = new Map<string, typeof batch>();
    for (const p of batch) {
      const k = `${sceneKeyOf(p.scene)}|${p.envId ?? ''}`;
      const g = groups.get(k);
      if (g) g.push(p);
      else groups.set(k, [p]);
    }
    for (const group of groups.values()) {
      try {
        const values = await this.scoreBatch(group[0]!.scene, group.map((p) => p.frame), group[0]!.envId);
        group.forEach((p, i) => p.resolve(values[i]!));
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  }

  /** Draws, featurises and scores frames of one scene in one batch (cached frames excepted). */
  async scoreBatch(scene: ReplayScene, frames: readonly RenderFrame[], envId?: string): Promise<Float64Array> {
    if (envId !== undefined && this.model.env !== null && envId !== this.model.env) {
      throw new PerceptualRewardError(`${this.params.model} was learned from ${this.model.env} demonstrations; this env is ${envId}`);
    }
    this.stats.frames += frames.length;
    const sceneKey = `${sceneKeyOf(scene)}|${JSON.stringify(this.camera ?? null)}`;
    const keys = frames.map((f) => {
      const h = createHash('sha1').update(sceneKey);
      const t = Float32Array.from(f.transforms);
      h.update(new Uint8Array(t.buffer));
      if (f.signals) h.update(new Uint8Array(Float32Array.from(f.signals).buffer));
      return h.digest('hex');
    });
    const out = new Float64Array(frames.length);
    const missing: number[] = [];
    keys.forEach((k, i) => {
      const hit = this.cache.get(k);
      if (hit === undefined) missing.push(i);
      else {
        out[i] = hit;
        this.stats.cacheHits++;
      }
    });
    if (missing.length) {
      const pixels = await this.renderer.renderFrames(
        scene,
        missing.map((i) => frames[i]!),
        { width: this.width, height: this.height, ...(this.camera !== undefined ? { camera: this.camera } : {}) },
      );
      const features = await this.features.extract(pixels, missing.length, this.width, this.height);
      const rewards = perceptualReward(this.model, perceptualStepRewards(this.model, features, missing.length));
      this.stats.batches++;
      this.stats.extracted += missing.length;
      missing.forEach((i, j) => {
        out[i] = rewards[j]!;
        if (this.cacheSize > 0) {
          this.cache.set(keys[i]!, rewards[j]!);
          if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
        }
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.features.dispose();
  }
}
