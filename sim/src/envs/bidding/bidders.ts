/**
 * Bidders and the evaluation protocol of Cai et al. (WSDM 2017; REFERENCES.md §3).
 *
 * Protocol (as the authors' rlb-dp evaluation runs it): the test log is cut into episodes of N
 * consecutive auctions, the trailing partial block being one more episode; each episode starts with
 * budget B = (training cost per impression)·c0·N, floored to an integer, and t = N auctions left; a bid
 * is capped at min(budget left, 300); a second-price auction is won when bid ≥ market price δ, and the
 * winner pays δ and gets the impression's click (if any).
 *
 * Baselines (trained on the training log): Const (one bid, tuned), Rand (uniform in [0, u], u tuned),
 * Mcpc (θ·eCPC_train), Lin (b0·θ/θ_avg, b0 tuned), each tuned per c0 by running the protocol on the
 * training log and keeping the candidate with the most clicks (ties: the lower cost, then the lower
 * value); the grid is coarse to fine, see `tuneBidParameter`.
 */
import { Rng } from '../../rng';
import { auctionStats, MAX_BID, type AuctionLog, type AuctionStats } from './auctions';
import { marketPriceDistribution, pctrBins, solveRlbDp, type RlbValueFunction } from './rlb';

/** A bidding policy: the bid for an auction with `t` auctions left (this one included) and budget `b`. */
export interface Bidder {
  readonly name: string;
  /** Called at the start of every episode (Rand reseeds here). */
  beginEpisode?(episode: number): void;
  bid(t: number, b: number, pctr: number): number;
}

/** Every bidder evaluateCampaign knows; `rlb-pctr` is RLB with the DP over the pCTR distribution. */
export const BIDDER_NAMES = ['const', 'rand', 'mcpc', 'lin', 'rlb', 'rlb-pctr'] as const;
export type BidderName = (typeof BIDDER_NAMES)[number];
/** The paper's five (what the CLI runs by default). */
export const DEFAULT_BIDDERS: readonly BidderName[] = ['const', 'rand', 'mcpc', 'lin', 'rlb'];
/** Equal-mass pCTR bins of RLB-pCTR's DP. */
export const RLB_PCTR_BINS = 16;

/** Const: the same bid for every auction. */
export function constBidder(bid: number): Bidder {
  return { name: 'const', bid: () => bid };
}

/** Rand: a uniform bid in [0, upper], from a stream reseeded per episode (seed + episode). */
export function randBidder(upper: number, seed = 0): Bidder {
  let rng = new Rng(seed);
  return {
    name: 'rand',
    beginEpisode: (episode) => {
      rng = new Rng(seed + episode);
    },
    bid: () => rng.uniform(0, upper),
  };
}

/** Mcpc: bid the expected value of the impression at the training cost per click, θ·eCPC, capped at 300. */
export function mcpcBidder(ecpc: number): Bidder {
  return { name: 'mcpc', bid: (_t, _b, pctr) => Math.min(pctr * ecpc, MAX_BID) };
}

/** Lin: b0·θ/θ_avg, capped at 300. */
export function linBidder(b0: number, thetaAvg: number): Bidder {
  return { name: 'lin', bid: (_t, _b, pctr) => Math.min((b0 * pctr) / thetaAvg, MAX_BID) };
}

/** RLB: the DP's optimal bid (REFERENCES.md §3). */
export function rlbBidder(value: RlbValueFunction): Bidder {
  return { name: 'rlb', bid: (t, b, pctr) => value.bid(t, b, pctr) };
}

export interface EpisodeProtocol {
  /** N: auctions per episode. */
  episodeLength: number;
  /** B: the budget every episode starts with. */
  budget: number;
}

export interface BiddingResult {
  episodes: number;
  auctions: number;
  wins: number;
  clicks: number;
  /** Σ market prices paid, in the data's price unit. */
  cost: number;
  /** wins / auctions. */
  winRate: number;
  /** cost / wins: a price is a CPM, so this is the CPM paid (null without wins). */
  cpm: number | null;
  /** cost / 1000 / clicks: the cost of a click in the currency of a CPM (null without clicks). */
  ecpc: number | null;
}

/** Runs `bidder` over the log's episodes (see the protocol above). */
export function runBidder(log: AuctionLog, bidder: Bidder, protocol: EpisodeProtocol): BiddingResult {
  const { episodeLength: n, budget } = protocol;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`episode length must be a positive integer, got ${n}`);
  if (!(budget >= 0) || !Number.isFinite(budget)) throw new RangeError(`budget must be a non-negative number, got ${budget}`);
  const episodes = Math.ceil(log.length / n);
  const { clicks: clickCol, prices, pctrs } = log;
  let wins = 0;
  let clicks = 0;
  let cost = 0;
  for (let e = 0; e < episodes; e++) {
    bidder.beginEpisode?.(e);
    let b = budget;
    const start = e * n;
    const length = Math.min(n, log.length - start);
    for (let i = 0; i < length; i++) {
      const k = start + i;
      const raw = bidder.bid(n - i, b, pctrs[k]!);
      const bid = raw < b ? raw : b;
      const price = prices[k]!;
      if (bid >= price) {
        b -= price;
        wins++;
        cost += price;
        clicks += clickCol[k]!;
      }
    }
  }
  const auctions = log.length;
  return { episodes, auctions, wins, clicks, cost, winRate: auctions ? wins / auctions : 0, cpm: wins ? cost / wins : null, ecpc: clicks ? cost / 1000 / clicks : null };
}

/** What the bidders learn from the training log. */
export interface BiddingTraining {
  stats: AuctionStats;
  /** θ_avg: the training click rate. */
  thetaAvg: number;
  /** The training cost per impression (a CPM): B = cpm·c0·N. */
  cpm: number;
  /** Training eCPC in the price unit (cost / clicks), Mcpc's multiplier. */
  ecpc: number;
  marketPdf: Float64Array;
}

/** Reads the training statistics; a training log without clicks cannot price a click. */
export function trainingStats(train: AuctionLog): BiddingTraining {
  const stats = auctionStats(train);
  if (stats.clicks === 0) throw new RangeError(`${train.source}: the training log has no clicks, so θ_avg and eCPC are undefined`);
  return { stats, thetaAvg: stats.ctr, cpm: stats.cpm, ecpc: stats.ecpc!, marketPdf: marketPriceDistribution(train.prices) };
}

/** B = (training cost per impression)·c0·N, floored to the integer price unit. */
export function episodeBudget(cpm: number, c0: number, episodeLength: number): number {
  if (!(c0 > 0) || !Number.isFinite(c0)) throw new RangeError(`c0 must be a positive number, got ${c0}`);
  return Math.floor(cpm * c0 * episodeLength);
}

/**
 * Tunes a one-parameter bidder on the training log: the candidate with the most clicks wins (ties: the
 * lower cost, then the earlier candidate).
 */
export function tuneOnTraining(train: AuctionLog, protocol: EpisodeProtocol, candidates: readonly number[], make: (x: number) => Bidder): { value: number; result: BiddingResult } {
  let best: { value: number; result: BiddingResult } | null = null;
  for (const x of candidates) {
    const result = runBidder(train, make(x), protocol);
    if (!best || result.clicks > best.result.clicks || (result.clicks === best.result.clicks && result.cost < best.result.cost)) best = { value: x, result };
  }
  if (!best) throw new RangeError('tuneOnTraining: no candidates');
  return best;
}

/**
 * Tunes an integer parameter in [1, 300] coarse to fine: every `step`-th value, then every value within
 * `step` of the best (69 runs instead of 300 for step 5).
 */
export function tuneBidParameter(train: AuctionLog, protocol: EpisodeProtocol, make: (x: number) => Bidder, step = 5): { value: number; result: BiddingResult } {
  const coarse = Array.from({ length: Math.floor(MAX_BID / step) }, (_, i) => (i + 1) * step);
  const first = tuneOnTraining(train, protocol, coarse, make);
  const fine: number[] = [first.value];
  for (let x = Math.max(1, first.value - step + 1); x <= Math.min(MAX_BID, first.value + step - 1); x++) if (x !== first.value) fine.push(x);
  return tuneOnTraining(train, protocol, fine, make);
}

export interface CampaignEvaluationOptions {
  episodeLength?: number;
  c0s: readonly number[];
  agents?: readonly BidderName[];
  /** Seed of Rand's streams. */
  seed?: number;
  /** A precomputed RLB value function covering the largest budget (else solved here). */
  rlbValue?: RlbValueFunction;
}

export interface CampaignEvaluation {
  train: AuctionStats;
  test: AuctionStats;
  episodeLength: number;
  rows: { c0: number; budget: number; agents: Record<string, BiddingResult & { parameter?: number }> }[];
  /** Seconds spent solving the RLB DPs (0 when none was solved). */
  dpSeconds: number;
}

/**
 * The paper's experiment on one campaign: for each c0, every agent's totals over the test episodes.
 * One DP for the largest budget serves every c0 (V(t, b) does not depend on B).
 */
export function evaluateCampaign(train: AuctionLog, test: AuctionLog, options: CampaignEvaluationOptions): CampaignEvaluation {
  const n = options.episodeLength ?? 1000;
  const agents = options.agents ?? DEFAULT_BIDDERS;
  const seed = options.seed ?? 0;
  const tr = trainingStats(train);
  const budgets = options.c0s.map((c0) => episodeBudget(tr.cpm, c0, n));
  let rlbValue = options.rlbValue ?? null;
  let dpSeconds = 0;
  if (agents.includes('rlb') && !rlbValue) {
    const started = performance.now();
    rlbValue = solveRlbDp({ auctions: n, maxBudget: Math.max(...budgets), marketPdf: tr.marketPdf, thetaAvg: tr.thetaAvg });
    dpSeconds = (performance.now() - started) / 1000;
  }
  let rlbPctrValue: RlbValueFunction | null = null;
  if (agents.includes('rlb-pctr')) {
    const started = performance.now();
    const bins = pctrBins(train.pctrs, RLB_PCTR_BINS, tr.thetaAvg);
    rlbPctrValue = solveRlbDp({ auctions: n, maxBudget: Math.max(...budgets), marketPdf: tr.marketPdf, thetaAvg: tr.thetaAvg, pctrBins: bins });
    dpSeconds += (performance.now() - started) / 1000;
  }
  const rows = options.c0s.map((c0, i) => {
    const protocol = { episodeLength: n, budget: budgets[i]! };
    const out: Record<string, BiddingResult & { parameter?: number }> = {};
    for (const agent of agents) {
      switch (agent) {
        case 'const': {
          const tuned = tuneBidParameter(train, protocol, constBidder);
          out.const = { ...runBidder(test, constBidder(tuned.value), protocol), parameter: tuned.value };
          break;
        }
        case 'rand': {
          const tuned = tuneBidParameter(train, protocol, (u) => randBidder(u, seed));
          out.rand = { ...runBidder(test, randBidder(tuned.value, seed), protocol), parameter: tuned.value };
          break;
        }
        case 'mcpc':
          out.mcpc = runBidder(test, mcpcBidder(tr.ecpc), protocol);
          break;
        case 'lin': {
          const tuned = tuneBidParameter(train, protocol, (b0) => linBidder(b0, tr.thetaAvg));
          out.lin = { ...runBidder(test, linBidder(tuned.value, tr.thetaAvg), protocol), parameter: tuned.value };
          break;
        }
        case 'rlb':
          out.rlb = runBidder(test, rlbBidder(rlbValue!), protocol);
          break;
        case 'rlb-pctr':
          out['rlb-pctr'] = runBidder(test, rlbBidder(rlbPctrValue!), protocol);
          break;
      }
    }
    return { c0, budget: budgets[i]!, agents: out };
  });
  return { train: tr.stats, test: auctionStats(test), episodeLength: n, rows, dpSeconds };
}
