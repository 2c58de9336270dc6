/**
 * How the reward wrappers pay frame-scored terms (`vlm`, `perceptual`): per state, the frame the renderer
 * would draw is captured when the state is reached (the env moves on before the batch is drawn), queued
 * on the term's scorer, and the values are handed to the reward function before it evaluates the
 * transition. Scorers are shared by every wrapper of a process through a `FrameScorerPool`: one per
 * distinct node, one renderer for all, loaded on first use and closed when the last user releases it.
 */
import { FrameRenderer, type RenderFrame } from '@rewardlab/render';
import type { ReplayScene } from '@rewardlab/sim';
import type { RewardFunction } from '../reward';
import { VlmScorer, type VlmTermParams } from './scorer';
import { PerceptualScorer, type PerceptualTermParams } from '../perceptual/scorer';

/** What scores frames for one kind of frame term. */
export interface FrameScorer {
  /** One value per frame of `scene` (of env `envId`), in order. */
  scoreAll(scene: ReplayScene, frames: readonly RenderFrame[], envId?: string): Promise<Float64Array>;
  close(): Promise<void>;
}

export type FrameScorerFactory = (params: unknown, options: { renderer: FrameRenderer; cacheSize?: number }) => Promise<FrameScorer>;

const FACTORIES = new Map<string, FrameScorerFactory>([
  ['vlm', (params, options) => VlmScorer.create(params as VlmTermParams, options)],
  ['perceptual', (params, options) => PerceptualScorer.create(params as PerceptualTermParams, options)],
]);

/** Makes a kind of frame term scorable (`vlm` is built in; the perceptual reward registers itself). */
export function registerFrameScorer(kind: string, factory: FrameScorerFactory): void {
  FACTORIES.set(kind, factory);
}

export class FrameScorerPool {
  private readonly scorers = new Map<string, { scorer: Promise<FrameScorer>; users: number }>();
  private renderer: FrameRenderer | null = null;
  private ownsRenderer = false;

  constructor(private readonly options: { renderer?: FrameRenderer; cacheSize?: number } = {}) {}

  /** The scorer of a `kind` node with `params` (loaded on the first call); call `release` once done with it. */
  acquire(kind: string, params: unknown): Promise<FrameScorer> {
    const key = `${kind}:${JSON.stringify(params)}`;
    const entry = this.scorers.get(key);
    if (entry) {
      entry.users++;
      return entry.scorer;
    }
    const factory = FACTORIES.get(kind);
    if (!factory) return Promise.reject(new Error(`no scorer for ${kind} terms (known: ${[...FACTORIES.keys()].join(', ')})`));
    if (!this.renderer) {
      this.renderer = this.options.renderer ?? new FrameRenderer();
      this.ownsRenderer = !this.options.renderer;
    }
    const scorer = factory(params, { renderer: this.renderer, ...(this.options.cacheSize !== undefined ? { cacheSize: this.options.cacheSize } : {}) });
    const created = { scorer, users: 1 };
    this.scorers.set(key, created);
    // A scorer that failed to load is not kept: the next acquire tries again (and reports again).
    scorer.catch(() => {
      if (this.scorers.get(key) === created) this.scorers.delete(key);
      void this.closeRendererIfIdle();
    });
    return scorer;
  }

  async release(kind: string, params: unknown): Promise<void> {
    const key = `${kind}:${JSON.stringify(params)}`;
    const entry = this.scorers.get(key);
    if (!entry) return;
    if (--entry.users > 0) return;
    this.scorers.delete(key);
    await entry.scorer.then((s) => s.close()).catch(() => undefined);
    await this.closeRendererIfIdle();
  }

  private async closeRendererIfIdle(): Promise<void> {
    if (this.scorers.size > 0 || !this.renderer) return;
    const renderer = this.renderer;
    this.renderer = null;
    if (this.ownsRenderer) await renderer.close();
  }
}

/** The pool `withReward` and `withVecReward` use unless given one. */
export const defaultFrameScorers = new FrameScorerPool();

export interface FrameScoringOptions {
  /** Where the wrappers get their frame scorers (default: the process-wide pool with its own renderer). */
  frameScorers?: FrameScorerPool;
}

/** The scorers of one reward function's frame terms, acquired on first use and released on close. */
export class FrameScoring {
  private scorers: Promise<FrameScorer[]> | null = null;
  private readonly pool: FrameScorerPool;

  constructor(
    private readonly reward: RewardFunction,
    options: FrameScoringOptions = {},
  ) {
    this.pool = options.frameScorers ?? defaultFrameScorers;
  }

  get active(): boolean {
    return this.reward.frameTerms.length > 0;
  }

  private acquire(): Promise<FrameScorer[]> {
    if (!this.scorers) {
      const terms = this.reward.frameTerms;
      const all = Promise.all(terms.map((t) => this.pool.acquire(t.kind, t.params)));
      // Release whatever did load when one of them failed, so a retry starts clean.
      this.scorers = all.catch(async (err) => {
        this.scorers = null;
        await Promise.all(terms.map((t) => this.pool.release(t.kind, t.params)));
        throw err;
      });
    }
    return this.scorers;
  }

  /** Scores frames of `scene` (one per state) and registers the values on the states. */
  async scoreStates(states: readonly object[], scene: ReplayScene, frames: readonly RenderFrame[]): Promise<void> {
    const scorers = await this.acquire();
    const values = await Promise.all(scorers.map((s) => s.scoreAll(scene, frames, this.reward.options.envId)));
    states.forEach((state, k) => this.reward.setFrameScores(state, values.map((v) => v[k]!)));
  }

  async close(): Promise<void> {
    if (!this.scorers) return;
    const had = await this.scorers.catch(() => null);
    this.scorers = null;
    if (had) await Promise.all(this.reward.frameTerms.map((t) => this.pool.release(t.kind, t.params)));
  }
}
