/**
 * Perceptual rewards from the command line (Sermanet, Xu & Levine 2016): `rewardlab demos record`
 * plays a scripted demonstrator and writes its rendered frames and states; `rewardlab reward learn`
 * discovers the demonstrations' steps, selects the Inception features that tell each step apart and
 * writes the reward model a `{ "perceptual": { "model": FILE } }` spec node pays; with `--held-out` it
 * also reports the step classification accuracy on demonstrations it did not learn from.
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { selectBackend, type BackendPreference } from '@rewardlab/agents';
import {
  DEMO_ENVS,
  INCEPTION_FEATURE_SOURCE,
  learnPerceptualReward,
  loadInceptionFeatures,
  readDemos,
  recordDemos,
  savePerceptualRewardModel,
  stepClassificationAccuracy,
  type DemoSet,
  type InceptionFeatureExtractor,
  type PerceptualPooling,
  type PerceptualRewardModel,
} from '@rewardlab/rewards';
import { CliError, emitResult } from './output';
import { backendOption, nonNegativeInt, positiveInt } from './parse';

/**
 * Features of every demo, read from (or written to) a cache beside its frames: `features-<key>.f32`,
 * keyed by the extractor (source, layers, pooling) and the frames' size and count.
 */
async function demoFeatures(dir: string, set: DemoSet, extractor: InceptionFeatureExtractor): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const demo of set.episodes) {
    const key = createHash('sha1')
      .update(JSON.stringify([extractor.source, extractor.layers, extractor.pooling, extractor.inputSize, set.width, set.height, demo.count]))
      .update(demo.frames)
      .digest('hex')
      .slice(0, 16);
    const folder = join(dir, demo.name);
    const cache = existsSync(folder) ? join(folder, `features-${key}.f32`) : null;
    if (cache && existsSync(cache)) {
      const bytes = readFileSync(cache);
      if (bytes.length === demo.count * extractor.dim * 4) {
        out.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
        continue;
      }
    }
    process.stderr.write(`features of ${demo.name}: ${demo.count} frames\n`);
    const f = await extractor.extract(demo.frames, demo.count, set.width, set.height);
    if (cache) writeFileSync(cache, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    out.push(f);
  }
  return out;
}

export interface LearnResult {
  out: string;
  env: string | null;
  steps: number;
  demos: number;
  frames: number;
  features: number;
  /** Each demo's step starts (frames). */
  starts: number[][];
  heldOut: null | { demos: number; frames: number; accuracy: number; perStep: number[] };
}

/** Learns a perceptual reward from `opts.demos` (and scores it on `opts.heldOut`). */
export async function learnReward(opts: { demos: string; steps: number; out: string; heldOut?: string; topFeatures?: number; alpha?: number; layers?: string[]; pooling?: string; inputSize?: number; backend: BackendPreference }): Promise<LearnResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 2) throw new CliError(`--steps must be an integer ≥ 2 (a step's features are chosen against the others), got ${opts.steps}`);
  const demos = readDemos(resolve(opts.demos));
  const total = demos.episodes.reduce((a, d) => a + d.count, 0);
  for (const d of demos.episodes) if (d.count < opts.steps) throw new CliError(`${d.name} has ${d.count} frames, fewer than the ${opts.steps} steps asked for`);
  const held = opts.heldOut ? readDemos(resolve(opts.heldOut), demos.env ? { env: demos.env } : {}) : null;
  if (held && (held.width !== demos.width || held.height !== demos.height)) throw new CliError(`the held-out demos are ${held.width}×${held.height}, the demos ${demos.width}×${demos.height}`);
  await selectBackend(opts.backend);
  const extractor = await loadInceptionFeatures({ ...(opts.layers ? { layers: opts.layers } : {}), ...(opts.pooling ? { pooling: opts.pooling as PerceptualPooling } : {}), ...(opts.inputSize ? { inputSize: opts.inputSize } : {}) });
  try {
    const features = await demoFeatures(resolve(opts.demos), demos, extractor);
    const model = learnPerceptualReward(
      demos.episodes.map((d, i) => ({ features: features[i]!, count: d.count })),
      extractor.dim,
      {
        steps: opts.steps,
        ...(opts.topFeatures ? { topFeatures: opts.topFeatures } : {}),
        ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}),
        source: INCEPTION_FEATURE_SOURCE,
        layers: extractor.layers,
        pooling: extractor.pooling,
        ...(extractor.inputSize !== 299 ? { inputSize: extractor.inputSize } : {}),
        ...(demos.env ? { env: demos.env } : {}),
      },
    );
    // How the demos were drawn: the reward node draws states the same way.
    const withFrames: PerceptualRewardModel = { ...model, frames: { width: demos.width, height: demos.height, ...(demos.camera != null ? { camera: demos.camera as never } : {}) } };
    savePerceptualRewardModel(withFrames, resolve(opts.out));
    let heldOut: LearnResult['heldOut'] = null;
    if (held) {
      const missing = held.episodes.filter((d) => !d.phases);
      if (missing.length) throw new CliError(`held-out demo ${missing[0]!.name} has no phase labels (states.jsonl with a phase per frame): its steps cannot be checked`);
      const hf = await demoFeatures(resolve(opts.heldOut!), held, extractor);
      let correct = 0;
      let decisions = 0;
      const perStep = new Array<number>(opts.steps).fill(0);
      for (const [i, d] of held.episodes.entries()) {
        const labels = d.phases!.map((p) => Math.min(p, opts.steps - 1));
        const r = stepClassificationAccuracy(withFrames, hf[i]!, d.count, labels);
        correct += r.accuracy * r.decisions;
        decisions += r.decisions;
        r.perStep.forEach((a, k) => (perStep[k]! += a * d.count));
      }
      const frames = held.episodes.reduce((a, d) => a + d.count, 0);
      heldOut = { demos: held.episodes.length, frames, accuracy: correct / decisions, perStep: perStep.map((c) => c / frames) };
    }
    return { out: resolve(opts.out), env: demos.env, steps: opts.steps, demos: demos.episodes.length, frames: total, features: extractor.dim, starts: model.demos.map((d) => d.starts), heldOut };
  } finally {
    extractor.dispose();
  }
}

export function registerDemoCommands(program: Command): void {
  const demos = program.command('demos').description('demonstrations for perceptual rewards: scripted demonstrators drawn by the renderer');
  demos
    .command('record')
    .description('play a scripted demonstrator and write each episode as PNG frames plus states (phase labels included)')
    .requiredOption('--env <id>', `env (${DEMO_ENVS.join(', ')})`)
    .requiredOption('--out <dir>', 'directory to write (demos.json, demo-000/frames/…, demo-000/states.jsonl)')
    .option('--episodes <n>', 'episodes', positiveInt, 10)
    .option('--seed <n>', 'seed of the first episode (episode i uses seed + i)', nonNegativeInt, 0)
    .option('--size <px>', 'square frame side', positiveInt)
    .option('--camera <name>', "a camera of the env's scene (default its first)")
    .option('--noise <n>', "the demonstrator's action noise (1 = 5 cm)", Number)
    .option('--max-steps <n>', 'steps per episode (default the episode length)', positiveInt)
    .option('--only-successful', 'keep only episodes that succeed')
    .option('--video', 'also write an MP4 per episode (ffmpeg)')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string; out: string; episodes: number; seed: number; size?: number; camera?: string; noise?: number; maxSteps?: number; onlySuccessful?: boolean; video?: boolean; json?: boolean }) => {
      const r = await recordDemos({
        env: opts.env,
        out: resolve(opts.out),
        episodes: opts.episodes,
        seed: opts.seed,
        ...(opts.size ? { size: opts.size } : {}),
        ...(opts.camera ? { camera: opts.camera } : {}),
        ...(opts.noise !== undefined ? { noise: opts.noise } : {}),
        ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}),
        ...(opts.onlySuccessful ? { onlySuccessful: true } : {}),
        ...(opts.video ? { video: true } : {}),
      });
      const result = { dir: r.dir, env: r.manifest.env, width: r.manifest.width, height: r.manifest.height, episodes: r.manifest.episodes, tried: r.tried };
      emitResult(result, opts, (x: typeof result) => `wrote ${x.episodes.length} ${x.env} demos to ${x.dir} (${x.episodes.filter((e) => e.success).length} successful)`);
    });
}

export function registerRewardLearnCommand(program: Command): void {
  const reward = program.commands.find((c) => c.name() === 'reward');
  if (!reward) throw new Error('the reward command group is missing');
  reward
    .command('learn')
    .description('learn a perceptual reward from demonstrations: step discovery, feature selection, per-step Gaussians (Sermanet et al. 2016)')
    .requiredOption('--demos <dir>', 'demonstrations (rewardlab demos record, or folders of PNG frames)')
    .requiredOption('--steps <k>', 'number of steps to discover', (v: string) => Number(v))
    .requiredOption('--out <file>', 'reward model to write (JSON)')
    .option('--held-out <dir>', 'demonstrations with phase labels to measure the step classification accuracy on')
    .option('--top-features <n>', 'features kept per step (default 32)', positiveInt)
    .option('--alpha <a>', 'α of the feature score z = α·|μ⁺ − μ⁻| − (σ⁺ + σ⁻) (default 5)', Number)
    .option('--layers <list>', 'Inception V3 mixed layers (default mixed0 … mixed5)', (v: string) => v.split(',').map((s) => s.trim()))
    .option('--pooling <p>', 'spatial pooling of each layer: mean, max, grid2, grid3 (default grid3)')
    .option('--input-size <px>', "side of Inception's input (default 299, the paper's; ≥ 75; smaller is faster)", positiveInt)
    .option('--backend <name>', 'tfjs backend for the features', backendOption, 'wasm' as BackendPreference)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { demos: string; steps: number; out: string; heldOut?: string; topFeatures?: number; alpha?: number; layers?: string[]; pooling?: string; inputSize?: number; backend: BackendPreference; json?: boolean }) => {
      const result = await learnReward(opts);
      emitResult(result, opts, (r: LearnResult) => `wrote ${r.out}: ${r.steps} steps from ${r.demos} demos (${r.frames} frames, ${r.features} features)${r.heldOut ? `; held-out step accuracy ${(100 * r.heldOut.accuracy).toFixed(1)} %` : ''}`);
    });
}
