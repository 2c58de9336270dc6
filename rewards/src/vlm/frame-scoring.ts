/**
 * How the reward wrappers pay frame-scored (`vlm`) terms: per state, the frame the renderer would draw
 * is captured when the state is reached (the env moves on before the batch is drawn), queued on the
 * term's scorer, and the values are handed to the reward function before it evaluates the transition.
 */
import type { RenderFrame } from '@rewardlab/render';
import type { ReplayScene } from '@rewardlab/sim';
import type { RewardFunction } from '../reward';
import { defaultVlmScorers, type VlmScorer, type VlmScorerPool, type VlmTermParams } from './scorer';

export interface FrameScoringOptions {
  /** Where the wrappers get their VLM scorers (default: the process-wide pool with its own renderer). */
  vlmScorers?: VlmScorerPool;
}

/** The scorers of one reward function's frame terms, acquired on first use and released on close. */
export class FrameScoring {
  private scorers: Promise<VlmScorer[]> | null = null;
  private readonly pool: VlmScorerPool;
  private readonly params: VlmTermParams[];

  constructor(
    private readonly reward: RewardFunction,
    options: FrameScoringOptions = {},
  ) {
    this.pool = options.vlmScorers ?? defaultVlmScorers;
    this.params = reward.frameTerms.map((t) => ({ ...t.params }) as VlmTermParams);
  }

  get active(): boolean {
    return this.params.length > 0;
  }

  private acquire(): Promise<VlmScorer[]> {
    if (!this.scorers) {
      const all = Promise.all(this.params.map((p) => this.pool.acquire(p)));
      // Release whatever did load when one of them failed, so a retry starts clean.
      this.scorers = all.catch(async (err) => {
        this.scorers = null;
        await Promise.all(this.params.map((p) => this.pool.release(p)));
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
    if (had) await Promise.all(this.params.map((p) => this.pool.release(p)));
  }
}
