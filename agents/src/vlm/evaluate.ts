/**
 * How well an exported model's VLM-RM reward follows task progress on held-out states: renders fresh
 * captioned states (another seed than training's), embeds them with the directory's ONNX encoders
 * (onnxruntime-node, CLIP preprocessing of a frame already at S×S) and its tokenizer (transformers.js),
 * and computes, for each α, Rocamonde et al.'s goal-baseline regularised reward
 *
 *   R(s) = 1 − ½‖α·proj_L(s) + (1 − α)·s − g‖²,  proj_L(s) = b + d dᵀ(s − b)/‖d‖²,  d = g − b
 *
 * with s the unit-normalised image embedding and g, b the means of the unit-normalised goal and baseline
 * prompt embeddings, renormalised to unit length; then its Spearman rank correlation with progress.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameRenderer } from '@rewardlab/render';
import { sampleCaptionedFrames } from './captions';
import { nhwcToNchw, normalizePixels } from './contrastive';
import { tokenizeWithTransformers } from './train';

export interface ProgressTask {
  /** A name for the report (default: the env id). */
  name?: string;
  envId: string;
  goal: string[];
  baseline: string[];
  /** Keeps the states whose progress passes (e.g. CartPole's own range, |θ| ≤ 0.21). */
  filter?: (progress: number) => boolean;
}

export const DEFAULT_PROGRESS_TASKS: ProgressTask[] = [
  { envId: 'door-open', goal: ['the door is open'], baseline: ['the door is closed'] },
  { name: 'CartPole-v1 |θ| ≤ 0.21', envId: 'CartPole-v1', goal: ['the pole is upright'], baseline: ['the pole is falling'], filter: (p) => p >= -0.21 },
  { name: 'CartPole-v1 |θ| ≤ 0.6', envId: 'CartPole-v1', goal: ['the pole is upright'], baseline: ['the pole is falling'] },
];

export interface ProgressCorrelation {
  name: string;
  envId: string;
  count: number;
  /** Spearman correlation of R with progress, per α. */
  spearman: Record<string, number>;
  /** With `includeRewards`: the states' progress and R per α. */
  progress?: number[];
  rewards?: Record<string, number[]>;
}

const unit = (v: Float32Array | number[]): number[] => {
  const n = Math.hypot(...v) || 1;
  return Array.from(v, (x) => x / n);
};
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** VLM-RM's reward of unit image embedding `s` for unit goal `g` and baseline `b` (Rocamonde et al. 2023, eq. 3). */
export function vlmRmReward(s: readonly number[], g: readonly number[], b: readonly number[], alpha: number): number {
  const d = g.map((x, i) => x - b[i]!);
  const dd = dot(d, d) || 1;
  const t = dot(d, s.map((x, i) => x - b[i]!)) / dd;
  let sq = 0;
  for (let i = 0; i < s.length; i++) {
    const proj = b[i]! + d[i]! * t;
    const v = alpha * proj + (1 - alpha) * s[i]! - g[i]!;
    sq += v * v;
  }
  return 1 - sq / 2;
}

export async function evaluateProgressCorrelation(options: { dir: string; tasks?: ProgressTask[]; count?: number; seed?: number; alphas?: number[]; renderer?: FrameRenderer; includeRewards?: boolean }): Promise<ProgressCorrelation[]> {
  const { dir } = options;
  const tasks = options.tasks ?? DEFAULT_PROGRESS_TASKS;
  const count = options.count ?? 512;
  const seed = options.seed ?? 12345;
  const alphas = options.alphas ?? [0, 0.5, 1];
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { vision_config: { image_size: number }; text_config: { max_position_embeddings: number }; rewardlab?: { cameras?: Record<string, unknown> } };
  const S = config.vision_config.image_size;
  const L = config.text_config.max_position_embeddings;
  const ort = await import('onnxruntime-node');
  const { sampleRankCorrelation } = await import('simple-statistics');
  const vision = await ort.InferenceSession.create(join(dir, 'onnx', 'vision_model.onnx'));
  const text = await ort.InferenceSession.create(join(dir, 'onnx', 'text_model.onnx'));
  const embedTexts = async (texts: string[]): Promise<number[]> => {
    const tok = await tokenizeWithTransformers(dir, texts, L);
    const n = texts.length;
    const out = await text.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tok.inputIds.flat().map(BigInt)), [n, L]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from(tok.attentionMask.flat().map(BigInt)), [n, L]),
    });
    const data = out.text_embeds!.data as Float32Array;
    const D = data.length / n;
    const mean = new Array<number>(D).fill(0);
    for (let i = 0; i < n; i++) unit(data.subarray(i * D, (i + 1) * D)).forEach((x, j) => (mean[j]! += x / n));
    return unit(mean);
  };
  const renderer = options.renderer ?? new FrameRenderer({ maxFramesPerBatch: 256 });
  const results: ProgressCorrelation[] = [];
  const cache = new Map<string, { progress: number[]; embeds: number[][] }>();
  try {
    for (const task of tasks) {
      let data = cache.get(task.envId);
      if (!data) {
        const sampled = await sampleCaptionedFrames(task.envId, count, seed);
        const camera = (config.rewardlab?.cameras?.[task.envId] as string | undefined) ?? sampled.camera;
        const rgb = await renderer.renderFrames(sampled.scene, sampled.frames, { width: S, height: S, camera: camera ?? undefined });
        const embeds: number[][] = [];
        const chunk = 256;
        for (let i = 0; i < count; i += chunk) {
          const n = Math.min(chunk, count - i);
          const px = nhwcToNchw(normalizePixels(rgb.subarray(i * S * S * 3, (i + n) * S * S * 3)), n, S);
          const out = await vision.run({ pixel_values: new ort.Tensor('float32', px, [n, 3, S, S]) });
          const e = out.image_embeds!.data as Float32Array;
          const D = e.length / n;
          for (let j = 0; j < n; j++) embeds.push(unit(e.subarray(j * D, (j + 1) * D)));
        }
        data = { progress: sampled.progress, embeds };
        cache.set(task.envId, data);
      }
      const g = await embedTexts(task.goal);
      const b = await embedTexts(task.baseline);
      const keep = data.progress.map((p, i) => i).filter((i) => !task.filter || task.filter(data!.progress[i]!));
      const progress = keep.map((i) => data!.progress[i]!);
      const spearman: Record<string, number> = {};
      const rewards: Record<string, number[]> = {};
      for (const alpha of alphas) {
        rewards[String(alpha)] = keep.map((i) => vlmRmReward(data!.embeds[i]!, g, b, alpha));
        spearman[String(alpha)] = sampleRankCorrelation(rewards[String(alpha)]!, progress);
      }
      results.push({ name: task.name ?? task.envId, envId: task.envId, count: keep.length, spearman, ...(options.includeRewards ? { progress, rewards } : {}) });
    }
  } finally {
    if (!options.renderer) await renderer.close();
    await vision.release();
    await text.release();
  }
  return results;
}
