/**
 * `rewardlab vlm train|score|eval` and `rewardlab bench vlm`: vision-language rewards from the command
 * line. `train` fits the project's own contrastive image–text model on rendered frames and writes it in
 * the CLIP ONNX layout; `score` scores PNG frames against prompts with any model in that layout; `eval`
 * measures how well the reward ranks held-out states by true task progress (Spearman); the benchmark
 * times the reward path (render + embed + reward) per batch size.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sampleCaptionedFrames, trainContrastiveModel, CAPTIONED_ENVS } from '@rewardlab/agents';
import { decodePng, FrameRenderer } from '@rewardlab/render';
import { loadVisionLanguageModel, promptBasis, resolveVlmModel, VlmRewardBasis, VlmScorer, type VlmTermParams } from '@rewardlab/rewards';
import { CliError, emitResult } from './output';
import { nonNegativeInt, positiveInt } from './parse';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function alphaOption(value: string): number {
  const a = Number(value);
  if (!(a >= 0 && a <= 1)) throw new InvalidArgumentError(`alpha must be within [0, 1], got "${value}"`);
  return a;
}

function alphaList(value: string): number[] {
  return value.split(',').map((v) => alphaOption(v.trim()));
}

function batchList(value: string): number[] {
  return value.split(',').map((v) => positiveInt(v.trim()));
}

export interface ScoredFrame {
  file: string;
  reward: number;
  /** cos(frame, goal embedding): the plain CLIP reward's ingredient. */
  goalSimilarity: number;
}

/** Scores PNG frames with a model and prompts: the VLM-RM reward of each, and its cosine to the goal. */
export async function scoreFrames(opts: { model: string; goal: string[]; baseline?: string[]; alpha?: number; files: string[] }): Promise<{ model: string; alpha: number; frames: ScoredFrame[] }> {
  if (!opts.files.length) throw new CliError('vlm score needs at least one PNG frame');
  const alpha = opts.alpha ?? (opts.baseline?.length ? 0.5 : 0);
  const model = await loadVisionLanguageModel(resolveVlmModel(opts.model));
  try {
    const basis = await promptBasis(model, { goal: opts.goal, ...(opts.baseline?.length ? { baseline: opts.baseline } : {}), alpha });
    const cosine = new VlmRewardBasis(basis.goal, null, 0);
    const frames: ScoredFrame[] = [];
    for (const file of opts.files) {
      let png: { rgb: Uint8Array; width: number; height: number };
      try {
        png = decodePng(readFileSync(file));
      } catch (err) {
        throw new CliError(`${file}: not a readable PNG (${(err as Error).message})`);
      }
      const e = await model.embedFrames(png.rgb, 1, png.width, png.height);
      // With one normalised goal prompt, 1 − ½‖s − g‖² is the cosine; with a list it is the same up to ‖g‖.
      frames.push({ file, reward: basis.reward(e), goalSimilarity: opts.goal.length === 1 ? cosine.reward(e) : cosineOf(e, basis.goal) });
    }
    return { model: model.dir, alpha, frames };
  } finally {
    await model.close();
  }
}

function cosineOf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** What `sampleCaptionedFrames` reports as progress, per env. */
const PROGRESS: Record<string, string> = {
  'door-open': 'door angle (rad)',
  'CartPole-v1': 'uprightness −|θ| (rad)',
  'carball-1v1': "the ball's y toward the orange goal (uu)",
};

export interface VlmEvalResult {
  model: string;
  env: string;
  states: number;
  seed: number;
  goal: string[];
  baseline: string[];
  /** What progress means for the env. */
  progress: string;
  /** Spearman correlation between the reward and progress, per α. */
  spearman: { alpha: number; spearman: number }[];
}

/** The reward's Spearman rank correlation with true progress over held-out rendered states, for each α. */
export async function evaluateVlm(opts: { model: string; env: string; goal: string[]; baseline: string[]; alphas: number[]; states: number; seed: number; size?: number; camera?: string }): Promise<VlmEvalResult> {
  const sample = sampleCaptionedFrames(opts.env, opts.states, opts.seed);
  const data = await sample;
  const renderer = new FrameRenderer();
  const camera = opts.camera ?? data.camera;
  const params: VlmTermParams = { model: opts.model, goal: opts.goal, baseline: opts.baseline, alpha: 0, ...(opts.size ? { size: opts.size } : {}), ...(camera !== undefined ? { camera } : {}) };
  const scorer = await VlmScorer.create(params, { renderer, cacheSize: 0 });
  try {
    const embeddings = await scorer.embed(data.scene, data.frames);
    // simple-statistics is an ES module; this package is CommonJS.
    const { sampleRankCorrelation } = await import('simple-statistics');
    const spearman = [];
    for (const alpha of opts.alphas) {
      const basis = new VlmRewardBasis(scorer.basis.goal, scorer.basis.baseline, alpha);
      const rewards = basis.rewards(embeddings, data.frames.length);
      spearman.push({ alpha, spearman: sampleRankCorrelation(Array.from(rewards), data.progress) });
    }
    return { model: scorer.model.dir, env: opts.env, states: data.frames.length, seed: opts.seed, goal: opts.goal, baseline: opts.baseline, progress: PROGRESS[opts.env] ?? 'progress', spearman };
  } finally {
    await scorer.close();
    await renderer.close();
  }
}

export interface VlmBenchPoint {
  batch: number;
  framesPerSec: number;
  msPerFrame: number;
  /** Of each batch: drawing, embedding (preprocess + encoder) and the reward, in ms. */
  renderMs: number;
  embedMs: number;
  rewardMs: number;
}

export interface VlmBenchResult extends VlmBenchPoint {
  model: string;
  env: string;
  size: number;
  curve: VlmBenchPoint[];
}

/** Times the reward path — render + embed + reward — on distinct states (no cache), per batch size. */
export async function benchVlm(opts: { model: string; env: string; batches: number[]; seconds: number; seed: number; size?: number; goal?: string[]; baseline?: string[] }): Promise<VlmBenchResult> {
  const maxBatch = Math.max(...opts.batches);
  const data = await sampleCaptionedFrames(opts.env, maxBatch, opts.seed);
  const renderer = new FrameRenderer();
  const goal = opts.goal?.length ? opts.goal : ['the door is open'];
  const baseline = opts.baseline?.length ? opts.baseline : ['the door is closed'];
  const scorer = await VlmScorer.create({ model: opts.model, goal, baseline, alpha: 0.5, ...(opts.size ? { size: opts.size } : {}) }, { renderer, cacheSize: 0 });
  const size = scorer.size;
  try {
    const curve: VlmBenchPoint[] = [];
    for (const batch of opts.batches) {
      const frames = data.frames.slice(0, batch);
      const once = async (): Promise<{ render: number; embed: number; reward: number }> => {
        const t0 = performance.now();
        const pixels = await renderer.renderFrames(data.scene, frames, { width: size, height: size, ...(data.camera !== undefined ? { camera: data.camera } : {}) });
        const t1 = performance.now();
        const e = await scorer.model.embedFrames(pixels, batch, size, size);
        const t2 = performance.now();
        scorer.basis.rewards(e, batch);
        return { render: t1 - t0, embed: t2 - t1, reward: performance.now() - t2 };
      };
      await once();
      const sum = { render: 0, embed: 0, reward: 0 };
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < opts.seconds * 1000 || n < 2) {
        const t = await once();
        sum.render += t.render;
        sum.embed += t.embed;
        sum.reward += t.reward;
        n++;
      }
      const ms = (performance.now() - t0) / n;
      const point = { batch, framesPerSec: (batch * 1000) / ms, msPerFrame: ms / batch, renderMs: sum.render / n, embedMs: sum.embed / n, rewardMs: sum.reward / n };
      curve.push(point);
      process.stderr.write(`batch ${batch}: ${point.framesPerSec.toFixed(0)} frames/s (render ${point.renderMs.toFixed(1)} ms, embed ${point.embedMs.toFixed(1)} ms, reward ${point.rewardMs.toFixed(2)} ms per batch)\n`);
    }
    const best = curve.reduce((a, b) => (b.framesPerSec > a.framesPerSec ? b : a));
    return { model: scorer.model.dir, env: opts.env, size, ...best, curve };
  } finally {
    await scorer.close();
    await renderer.close();
  }
}

export function registerVlmCommands(program: Command): void {
  const vlm = program.command('vlm').description('vision-language (CLIP-style) rewards: train our own model, score frames, evaluate');
  vlm
    .command('train')
    .description('train a small contrastive image–text model on rendered frames captioned from the simulator state, written in the CLIP ONNX layout')
    .requiredOption('--env <ids>', `envs to caption, comma-separated (${CAPTIONED_ENVS.join(', ')})`, (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--seed <n>', 'seed of the states, the initialisation and the batches', nonNegativeInt, 0)
    .option('--frames <n>', 'training frames per env', positiveInt)
    .option('--steps <n>', 'gradient steps', positiveInt)
    .option('--batch <n>', 'batch size (pairs per InfoNCE batch)', positiveInt)
    .option('--size <px>', 'square input side of the image encoder', positiveInt)
    .option('--dim <n>', 'embedding size', positiveInt)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string[]; out: string; seed: number; frames?: number; steps?: number; batch?: number; size?: number; dim?: number; json?: boolean }) => {
      const result = await trainContrastiveModel({
        envs: opts.env,
        out: resolve(opts.out),
        seed: opts.seed,
        ...(opts.frames ? { framesPerEnv: opts.frames } : {}),
        ...(opts.steps ? { steps: opts.steps } : {}),
        ...(opts.batch ? { batchSize: opts.batch } : {}),
        ...(opts.size ? { size: opts.size } : {}),
        ...(opts.dim ? { embeddingSize: opts.dim } : {}),
        onProgress: (p) => process.stderr.write(`step ${p.step}: loss ${p.loss.toFixed(4)}\n`),
      });
      const { losses, tokens: _tokens, ...summary } = result;
      // The loss every tenth of the run, not every step.
      const every = Math.max(1, Math.floor(losses.length / 10));
      const report = { ...summary, lossCurve: losses.flatMap((l, i) => (i % every === every - 1 || i === losses.length - 1 ? [[i + 1, +l.toFixed(4)]] : [])) };
      emitResult(report, opts, (r: typeof report) => `wrote ${r.dir}: ${r.steps} steps on ${r.frames} frames, final loss ${r.finalLoss.toFixed(3)}, held-out retrieval ${(100 * r.heldOutAccuracy).toFixed(1)} % (${r.wallSeconds.toFixed(0)} s)`);
    });
  vlm
    .command('score')
    .description('score PNG frames against goal (and baseline) prompts: R = 1 − ½‖α·proj(s) + (1 − α)·s − g‖²')
    .argument('<frames...>', 'PNG files')
    .requiredOption('--model <dir>', 'model directory (CLIP ONNX layout) or rewardlab-small')
    .requiredOption('--goal <prompt>', 'goal prompt (repeat for a list)', collect)
    .option('--baseline <prompt>', 'baseline prompt (repeat for a list)', collect)
    .option('--alpha <a>', 'projection strength α in [0, 1] (default 0.5 with a baseline, else 0)', alphaOption)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (files: string[], opts: { model: string; goal: string[]; baseline?: string[]; alpha?: number; json?: boolean }) => {
      const result = await scoreFrames({ ...opts, files });
      emitResult(result, opts, (r: typeof result) => r.frames.map((f) => `${f.file}: reward ${f.reward.toFixed(4)} (cos to goal ${f.goalSimilarity.toFixed(4)})`).join('\n'));
    });
  vlm
    .command('eval')
    .description('Spearman correlation between the VLM reward and true task progress over held-out rendered states')
    .requiredOption('--model <dir>', 'model directory or rewardlab-small')
    .requiredOption('--env <id>', `env (${CAPTIONED_ENVS.join(', ')})`)
    .requiredOption('--goal <prompt>', 'goal prompt (repeat for a list)', collect)
    .requiredOption('--baseline <prompt>', 'baseline prompt (repeat for a list)', collect)
    .option('--alphas <list>', 'α values', alphaList, [0, 0.5, 1])
    .option('--states <n>', 'held-out states', positiveInt, 512)
    .option('--seed <n>', 'seed of the held-out states (pick one the model was not trained on)', nonNegativeInt, 1000)
    .option('--size <px>', 'rendered frame side (default: the model’s input)', positiveInt)
    .option('--camera <name>', 'camera (default: the scene’s first)')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { model: string; env: string; goal: string[]; baseline: string[]; alphas: number[]; states: number; seed: number; size?: number; camera?: string; json?: boolean }) => {
      const result = await evaluateVlm(opts);
      emitResult(result, opts, (r: VlmEvalResult) => `${r.env}, ${r.states} held-out states (${r.progress}): ${r.spearman.map((s) => `α ${s.alpha}: Spearman ${s.spearman.toFixed(3)}`).join(', ')}`);
    });
}

export function registerVlmBench(bench: Command): void {
  bench
    .command('vlm')
    .description('throughput of the VLM reward path (render + embed + reward) per batch size')
    .option('--model <dir>', 'model directory or rewardlab-small', 'rewardlab-small')
    .option('--env <id>', 'env whose states are drawn', 'door-open')
    .option('--batch <n>', 'one batch size (default: --batches)', positiveInt)
    .option('--batches <list>', 'batch sizes', batchList, [8, 32, 128])
    .option('--size <px>', 'rendered frame side (default: the model’s input)', positiveInt)
    .option('--seconds <s>', 'seconds timed per batch size', (v) => Number(v), 3)
    .option('--seed <n>', 'seed of the states', nonNegativeInt, 0)
    .option('--goal <prompt>', 'goal prompt (default "the door is open")', collect)
    .option('--baseline <prompt>', 'baseline prompt (default "the door is closed")', collect)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { model: string; env: string; batch?: number; batches: number[]; size?: number; seconds: number; seed: number; goal?: string[]; baseline?: string[]; json?: boolean }) => {
      const result = await benchVlm({ ...opts, batches: opts.batch ? [opts.batch] : opts.batches });
      emitResult(result, opts, (r: VlmBenchResult) => `${r.env} at ${r.size}×${r.size}: ${r.framesPerSec.toFixed(0)} frames/s at batch ${r.batch} (${r.msPerFrame.toFixed(2)} ms per frame)`);
    });
}
