/**
 * `rtb`: real-time bidding as an MDP (Cai et al., WSDM 2017; REFERENCES.md §3). An episode is N
 * consecutive auctions of a log with budget B = (cost per impression)·c0·N. Each step is one
 * second-price auction: the agent bids a ∈ [0, 300] (capped at the budget left), wins when a ≥ δ, pays
 * the market price δ and gets the impression's click.
 *
 * State (t, b, θ): auctions left, budget left, the auction's pCTR. Observation (float32):
 *   [t/N, b/B, θ/θ̄], with θ̄ the log's mean pCTR (the third entry clipped to 1/θ̄, its value at θ = 1).
 * Reward on a win: clicks objective, the click (0 or 1); profit objective, click − δ/clickValue (profit
 * in clicks' worth; clickValue defaults to the log's cost per click). 0 on a loss. The episode
 * terminates after its N-th auction.
 */
import { BaseEnv, EnvOptionsError, type ResetParams, type ResetResult, type StepResult } from '../../env';
import { parseOptions, z } from '../../options';
import { box, type BoxValue } from '../../spaces';
import { AuctionFileError, auctionStats, MAX_BID, readAuctionFile, syntheticCampaign, type AuctionLog } from './auctions';

export const RTB_ENV_ID = 'rtb';

export const rtbOptionsSchema = z
  .object({
    /** An iPinYou-format auction file; without one, a synthetic campaign is generated. */
    file: z.string().min(1).optional(),
    /** Seed of the synthetic campaign (default 0). */
    seed: z.number().int().nonnegative().optional(),
    /** Auctions in the synthetic campaign (default 100000). */
    auctions: z.number().int().positive().optional(),
    /** N: auctions per episode (default 1000). */
    episodeLength: z.number().int().positive().optional(),
    /** Budget ratio c0 (default 1/8). */
    c0: z.number().finite().positive().optional(),
    objective: z.enum(['clicks', 'profit']).optional(),
    /** Profit objective: a click's value in price units (default: the log's cost per click). */
    clickValue: z.number().finite().positive().optional(),
    /** The cost per impression that sets B (default: the log's mean market price). */
    costPerImpression: z.number().finite().positive().optional(),
  })
  .strict();
export type RtbOptions = z.infer<typeof rtbOptionsSchema>;

const resetOptionsSchema = z.object({ episode: z.number().int().nonnegative().optional() }).strict();

export class RtbEnv extends BaseEnv<BoxValue> {
  readonly id = RTB_ENV_ID;
  readonly log: AuctionLog;
  readonly episodeLength: number;
  readonly numEpisodes: number;
  readonly budget: number;
  readonly objective: 'clicks' | 'profit';
  readonly clickValue: number;
  /** θ̄: the log's mean pCTR, the observation's scale for θ. */
  readonly meanPctr: number;
  readonly observationSpace;
  readonly actionSpace = box([1], 0, MAX_BID);
  readonly metadata = { description: 'Real-time bidding (Cai et al. 2017): bid in second-price auctions under a budget; reward = clicks won.' };
  private readonly pctrCap: number;
  private start = 0;
  private t = 0;
  private b = 0;
  private episodeClicks = 0;
  private episodeCost = 0;

  constructor(options: RtbOptions = {}, log?: AuctionLog) {
    super();
    const o = parseOptions(RTB_ENV_ID, 'option', rtbOptionsSchema, options);
    try {
      this.log = log ?? (o.file ? readAuctionFile(o.file) : syntheticCampaign(o.seed ?? 0, { auctions: o.auctions ?? 100_000 }));
    } catch (err) {
      if (err instanceof AuctionFileError) throw new EnvOptionsError(RTB_ENV_ID, err.message);
      throw err;
    }
    const stats = auctionStats(this.log);
    this.episodeLength = o.episodeLength ?? 1000;
    this.numEpisodes = Math.floor(this.log.length / this.episodeLength);
    if (this.numEpisodes < 1) throw new EnvOptionsError(RTB_ENV_ID, `${this.log.source} has ${this.log.length} auctions, fewer than one episode of ${this.episodeLength}`);
    const cpm = o.costPerImpression ?? stats.cpm;
    this.budget = Math.floor(cpm * (o.c0 ?? 1 / 8) * this.episodeLength);
    if (this.budget < 1) throw new EnvOptionsError(RTB_ENV_ID, `the budget (cost per impression ${cpm} · c0 ${o.c0 ?? 1 / 8} · N ${this.episodeLength}) is below one price unit`);
    this.objective = o.objective ?? 'clicks';
    const clickValue = o.clickValue ?? stats.ecpc;
    if (this.objective === 'profit' && clickValue === null) throw new EnvOptionsError(RTB_ENV_ID, `${this.log.source} has no clicks: give clickValue for the profit objective`);
    this.clickValue = clickValue ?? 1;
    if (!(stats.meanPctr > 0)) throw new EnvOptionsError(RTB_ENV_ID, `${this.log.source}: every pCTR is 0`);
    this.meanPctr = stats.meanPctr;
    this.pctrCap = Math.fround(1 / this.meanPctr);
    this.observationSpace = box([3], [0, 0, 0], [1, 1, this.pctrCap]);
  }

  reset(params?: ResetParams): ResetResult {
    const options = parseOptions(this.id, 'reset option', resetOptionsSchema, this.beginReset(params));
    if (options.episode !== undefined && options.episode >= this.numEpisodes) throw new EnvOptionsError(this.id, `reset option episode must be below ${this.numEpisodes}, got ${options.episode}`);
    const episode = options.episode ?? this.random.integer(this.numEpisodes);
    this.start = episode * this.episodeLength;
    this.t = this.episodeLength;
    this.b = this.budget;
    this.episodeClicks = 0;
    this.episodeCost = 0;
    return { obs: this.observation(), info: { episode, budget: this.budget } };
  }

  step(action: BoxValue): StepResult {
    this.checkAction(action);
    if (this.t <= 0) throw new Error(`${this.id}: the episode is over; call reset()`);
    const k = this.start + this.episodeLength - this.t;
    const bid = Math.min(action[0]!, this.b);
    const price = this.log.prices[k]!;
    const won = bid >= price;
    const click = won ? this.log.clicks[k]! : 0;
    let reward = 0;
    if (won) {
      this.b -= price;
      this.episodeCost += price;
      this.episodeClicks += click;
      // Clicks objective: v1 = 1, v0 = 0. Profit: v1 = 1, v0 = 1/clickValue (REFERENCES.md §3's reward).
      reward = this.objective === 'clicks' ? click : click - price / this.clickValue;
    }
    this.t--;
    const terminated = this.t === 0;
    return {
      obs: this.observation(),
      reward,
      terminated,
      truncated: false,
      info: { won, price, click, bid, budgetLeft: this.b, auctionsLeft: this.t, clicks: this.episodeClicks, cost: this.episodeCost, taskMetrics: { clicks: this.episodeClicks, spend: this.episodeCost, spendShare: this.budget > 0 ? this.episodeCost / this.budget : 0 } },
    };
  }

  /** [t/N, b/B, θ/θ̄] for the next auction (θ = 0 once the episode is over). */
  private observation(): Float32Array {
    const pctr = this.t > 0 ? this.log.pctrs[this.start + this.episodeLength - this.t]! : 0;
    return Float32Array.of(this.t / this.episodeLength, this.b / this.budget, Math.min(Math.fround(pctr / this.meanPctr), this.pctrCap));
  }
}
