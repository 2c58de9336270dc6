/**
 * `VlmScorer`: from env states to VLM-RM rewards. It draws the states with `@rewardlab/render`'s
 * `FrameRenderer`, embeds the frames with a CLIP-style model loaded from a local directory, and scores
 * them against the goal and baseline prompts (formula.ts).
 *
 * Frames queued with `score(scene, frame)` during one turn of the event loop are drawn and embedded
 * together: a vector env that steps its envs one after another, each wrapped by `withReward`, therefore
 * pays one render batch and one encoder batch per step for all of its envs. Embeddings are cached by the
 * frame's scene pose (the transforms and signals the renderer would draw), so a frame seen before is
 * neither drawn nor embedded again.
 */
import { createHash } from 'node:crypto';
import { FrameRenderer, type CameraOption, type RenderFrame } from '@rewardlab/render';
import type { ReplayScene } from '@rewardlab/sim';
import { VlmRewardError } from './errors';
import { meanOfNormalized, VlmRewardBasis } from './formula';
import { loadVisionLanguageModel, type VisionLanguageModel } from './model';
import { resolveVlmModel } from './models';

/** A `vlm` reward node's parameters, as the spec gives them (defaults filled in). */
export interface VlmTermParams {
  /** The model directory (the Hugging Face CLIP ONNX layout), or a built-in model's name (`rewardlab-small`). */
  model: string;
  goal: string[];
  baseline?: string[];
  alpha: number;
  camera?: CameraOption;
  /** Side of the rendered square frame (pixels); default: the model's input size. */
  size?: number;
  /** The ONNX file variant (`fp32`, `fp16`, `quantized`, …). */
  dtype?: string;
}

export interface VlmScorerOptions {
  renderer: FrameRenderer;
  /** Embeddings kept, by frame (least recently used first out). Default 4096; 0 turns the cache off. */
  cacheSize?: number;
}

export interface VlmScorerStats {
  /** Frames scored, cached ones included. */
  frames: number;
  /** Frames drawn and embedded. */
  embedded: number;
  cacheHits: number;
  /** Render + embed batches run. */
  batches: number;
}

interface Pending {
  scene: ReplayScene;
  frame: RenderFrame;
  camera: CameraOption | undefined;
  key: string;
  resolve: (value: number) => void;
  reject: (err: unknown) => void;
}

const sceneKeys = new WeakMap<ReplayScene, string>();
function sceneKeyOf(scene: ReplayScene): string {
  let key = sceneKeys.get(scene);
  if (key === undefined) {
    key = createHash('sha1').update(JSON.stringify(scene)).digest('hex');
    sceneKeys.set(scene, key);
  }
  return key;
}

function frameKey(sceneKey: string, frame: RenderFrame): string {
  const h = createHash('sha1').update(sceneKey);
  const bytes = (a: ArrayLike<number>): Uint8Array => {
    const f = a instanceof Float32Array ? a : Float32Array.from(a);
    return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  };
  h.update(bytes(frame.transforms));
  if (frame.signals) h.update('|').update(bytes(frame.signals));
  return h.digest('hex');
}

export class VlmScorer {
  readonly stats: VlmScorerStats = { frames: 0, embedded: 0, cacheHits: 0, batches: 0 };
  private readonly cache = new Map<string, Float32Array>();
  private readonly cacheSize: number;
  private queue: Pending[] = [];
  private flushScheduled = false;
  /** Frame side actually drawn. */
  readonly size: number;

  private constructor(
    readonly params: VlmTermParams,
    readonly model: VisionLanguageModel,
    readonly basis: VlmRewardBasis,
    private readonly renderer: FrameRenderer,
    cacheSize: number,
  ) {
    this.size = params.size ?? Math.max(model.imageSize.width, model.imageSize.height);
    this.cacheSize = cacheSize;
  }

  /** Loads the model, embeds the prompts once and returns a scorer that draws with `options.renderer`. */
  static async create(params: VlmTermParams, options: VlmScorerOptions): Promise<VlmScorer> {
    const model = await loadVisionLanguageModel(resolveVlmModel(params.model), params.dtype ? { dtype: params.dtype } : {});
    try {
      return new VlmScorer(params, model, await promptBasis(model, params), options.renderer, options.cacheSize ?? 4096);
    } catch (err) {
      await model.close();
      throw err;
    }
  }

  /**
   * The camera frames of `envId` are drawn with: the node's `camera`, else the one the model was trained
   * with for that env (our own models record theirs in config.json → rewardlab.cameras), else the scene's first.
   */
  cameraFor(envId?: string): CameraOption | undefined {
    if (this.params.camera !== undefined) return this.params.camera;
    const cameras = (this.model.config?.rewardlab as { cameras?: Record<string, CameraOption> } | undefined)?.cameras;
    return envId !== undefined && cameras && typeof cameras === 'object' ? cameras[envId] : undefined;
  }

  /** Queues one frame of `scene` (of env `envId`); resolves to its reward once the batch it joined has been scored. */
  score(scene: ReplayScene, frame: RenderFrame, envId?: string): Promise<number> {
    this.stats.frames++;
    const camera = this.cameraFor(envId);
    const key = frameKey(`${sceneKeyOf(scene)}|${JSON.stringify(camera ?? null)}`, frame);
    const hit = this.cacheSize > 0 ? this.cache.get(key) : undefined;
    if (hit) {
      this.stats.cacheHits++;
      // Refresh its place in the least-recently-used order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return Promise.resolve(this.basis.reward(hit));
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ scene, camera, frame: { transforms: Float32Array.from(frame.transforms), ...(frame.signals ? { signals: Float32Array.from(frame.signals) } : {}) }, key, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the current turn: every env of the vector has queued its frame by then.
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Scores `frames` of `scene` in one batch (cached frames excepted). */
  scoreAll(scene: ReplayScene, frames: readonly RenderFrame[], envId?: string): Promise<Float64Array> {
    return Promise.all(frames.map((f) => this.score(scene, f, envId))).then((v) => Float64Array.from(v));
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    // One renderer call per scene and camera: frames of equal scenes (the same env in several instances) share it.
    const groups = new Map<string, Pending[]>();
    for (const p of batch) {
      const k = `${sceneKeyOf(p.scene)}|${JSON.stringify(p.camera ?? null)}`;
      const g = groups.get(k);
      if (g) g.push(p);
      else groups.set(k, [p]);
    }
    for (const group of groups.values()) {
      try {
        // A frame queued twice in the batch is drawn once.
        const unique = new Map<string, Pending[]>();
        for (const p of group) {
          const u = unique.get(p.key);
          if (u) u.push(p);
          else unique.set(p.key, [p]);
        }
        const firsts = [...unique.values()].map((u) => u[0]!);
        const embeddings = await this.embed(group[0]!.scene, firsts.map((p) => p.frame), group[0]!.camera);
        const dim = this.model.embeddingSize;
        firsts.forEach((p, k) => {
          const e = embeddings.slice(k * dim, (k + 1) * dim);
          this.remember(p.key, e);
          const r = this.basis.reward(e);
          for (const q of unique.get(p.key)!) q.resolve(r);
        });
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  }

  /** Draws (with `camera`, default the node's) and embeds frames: frames × D embeddings. */
  async embed(scene: ReplayScene, frames: readonly RenderFrame[], camera: CameraOption | undefined = this.params.camera): Promise<Float32Array> {
    const size = this.size;
    const pixels = await this.renderer.renderFrames(scene, frames, { width: size, height: size, ...(camera !== undefined ? { camera } : {}) });
    this.stats.batches++;
    this.stats.embedded += frames.length;
    return this.model.embedFrames(pixels, frames.length, size, size);
  }

  private remember(key: string, embedding: Float32Array): void {
    if (this.cacheSize <= 0) return;
    this.cache.set(key, embedding);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

/** g, b and α of `params` with `model`'s text encoder: each prompt list's mean of normalised embeddings. */
export async function promptBasis(model: VisionLanguageModel, params: Pick<VlmTermParams, 'goal' | 'baseline' | 'alpha'>): Promise<VlmRewardBasis> {
  const embedList = async (prompts: readonly string[] | undefined, what: string): Promise<Float64Array | null> => {
    if (prompts === undefined) return null;
    if (prompts.length === 0) throw new VlmRewardError(`the ${what} prompt list is empty`);
    const rows = await model.embedTexts(prompts);
    const dim = model.embeddingSize;
    prompts.forEach((p, r) => {
      let sq = 0;
      for (let i = 0; i < dim; i++) sq += rows[r * dim + i]! ** 2;
      if (!(sq > 0) || !Number.isFinite(sq)) throw new VlmRewardError(`the ${what} prompt ${JSON.stringify(p)} embeds to a vector of norm ${Math.sqrt(sq)} with ${model.dir} (are its words in the model's vocabulary?)`);
    });
    return meanOfNormalized(rows, prompts.length, dim, `${what} prompt`);
  };
  const goal = (await embedList(params.goal, 'goal'))!;
  const baseline = await embedList(params.baseline, 'baseline');
  return new VlmRewardBasis(goal, baseline, params.alpha);
}
