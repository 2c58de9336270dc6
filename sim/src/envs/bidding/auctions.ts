/**
 * Auction logs for real-time bidding (REFERENCES.md §3): the iPinYou format of make-ipinyou-data /
 * rlb-dp (one auction per line, `click payprice pCTR`, space separated) and a seeded synthetic campaign
 * generator with the same columns.
 *
 * Prices are integers in the data's unit (iPinYou: RMB fen per thousand impressions, i.e. a price is a
 * CPM), so a bid, a budget and a cost are all in that unit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Rng } from '../../rng';

/** The largest bid (and the largest market price the DP models): the paper's bid cap. */
export const MAX_BID = 300;

/** A campaign's auctions as columns (struct of arrays, so episodes are cheap subarrays). */
export interface AuctionLog {
  /** 1 when the impression was clicked. */
  readonly clicks: Uint8Array;
  /** The market price δ (the second price the winner pays), a non-negative integer. */
  readonly prices: Int32Array;
  /** The predicted click-through rate θ(x) ∈ [0, 1]. */
  readonly pctrs: Float64Array;
  readonly length: number;
  /** Where the log came from (a file path, or a description of the generator), for messages. */
  readonly source: string;
}

/** Summary statistics of a log (what the bidders' training reads). */
export interface AuctionStats {
  auctions: number;
  clicks: number;
  /** Σ prices: what winning every auction would cost. */
  cost: number;
  /** Click rate, clicks / auctions: the paper's θ_avg. */
  ctr: number;
  /** Mean predicted CTR. */
  meanPctr: number;
  /** Cost per impression, cost / auctions (a CPM in the data's unit). */
  cpm: number;
  /** Cost per click in the price unit, cost / clicks (null without clicks). */
  ecpc: number | null;
}

/** A malformed auction file, naming the file and the 1-based line. */
export class AuctionFileError extends Error {
  override name = 'AuctionFileError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    reason: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${reason}`);
  }
}

/**
 * Parses iPinYou-format text. Blank lines are skipped; every other line must be exactly
 * `click payprice pCTR` with click ∈ {0, 1}, payprice a non-negative integer and pCTR a number in [0, 1].
 */
export function parseAuctions(text: string, file = '(text)'): AuctionLog {
  const lines = text.split('\n');
  const clicks: number[] = [];
  const prices: number[] = [];
  const pctrs: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const fail = (reason: string): never => {
      throw new AuctionFileError(file, i + 1, `${reason} in ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)} (expected "click payprice pCTR")`);
    };
    const fields = raw.split(/\s+/);
    if (fields.length !== 3) fail(`expected 3 fields, got ${fields.length}`);
    const [c, p, q] = fields as [string, string, string];
    if (c !== '0' && c !== '1') fail(`click must be 0 or 1, got "${c}"`);
    if (!/^[+-]?\d+$/.test(p)) fail(`payprice must be an integer, got "${p}"`);
    const price = Number(p);
    if (price < 0) fail(`payprice must be non-negative, got ${price}`);
    if (!Number.isSafeInteger(price)) fail(`payprice ${p} is too large`);
    const pctr = q.trim() === '' ? NaN : Number(q);
    if (!Number.isFinite(pctr)) fail(`pCTR must be a number, got "${q}"`);
    if (pctr < 0 || pctr > 1) fail(`pCTR must be in [0, 1], got ${pctr}`);
    clicks.push(c === '1' ? 1 : 0);
    prices.push(price);
    pctrs.push(pctr);
  }
  if (clicks.length === 0) throw new AuctionFileError(file, null, 'no auctions (the file is empty)');
  return { clicks: Uint8Array.from(clicks), prices: Int32Array.from(prices), pctrs: Float64Array.from(pctrs), length: clicks.length, source: file };
}

/** Reads an iPinYou-format file (see `parseAuctions`). */
export function readAuctionFile(path: string): AuctionLog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AuctionFileError(path, null, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseAuctions(text, path);
}

/** Formats a log as iPinYou-format text (pCTR with 8 significant digits). */
export function formatAuctions(log: AuctionLog): string {
  const out: string[] = new Array(log.length);
  for (let i = 0; i < log.length; i++) out[i] = `${log.clicks[i]} ${log.prices[i]} ${Number(log.pctrs[i]!.toPrecision(8))}`;
  return `${out.join('\n')}\n`;
}

export function writeAuctionFile(path: string, log: AuctionLog): void {
  writeFileSync(path, formatAuctions(log));
}

export function auctionStats(log: AuctionLog): AuctionStats {
  let clicks = 0;
  let cost = 0;
  let pctr = 0;
  for (let i = 0; i < log.length; i++) {
    clicks += log.clicks[i]!;
    cost += log.prices[i]!;
    pctr += log.pctrs[i]!;
  }
  const n = log.length;
  return { auctions: n, clicks, cost, ctr: n ? clicks / n : 0, meanPctr: n ? pctr / n : 0, cpm: n ? cost / n : 0, ecpc: clicks ? cost / clicks : null };
}

/** The auctions [start, start + length) of a log, sharing its buffers. */
export function sliceAuctions(log: AuctionLog, start: number, length: number): AuctionLog {
  const end = Math.min(log.length, start + length);
  return { clicks: log.clicks.subarray(start, end), prices: log.prices.subarray(start, end), pctrs: log.pctrs.subarray(start, end), length: end - start, source: log.source };
}

/**
 * The synthetic campaign model. Per auction, with z, u, w independent standard normals:
 *
 *   predicted log-odds   ℓ̂ = μ_ℓ + σ_p·z,                      pCTR = sigmoid(ℓ̂)
 *   true log-odds        ℓ  = ℓ̂ + σ_u·u − σ_u²/2,               click ~ Bernoulli(sigmoid(ℓ))
 *   market price         δ  = round(exp(μ_δ + σ_δ·(ρ·z + √(1−ρ²)·w))), redrawn (new w) while δ > 300
 *
 * μ_ℓ = ln(meanCtr) − σ_p²/2 and μ_δ = ln(meanMarketPrice) − σ_δ²/2 put the means where the options say
 * (exactly for the log-normal price before truncation; for the CTR up to the sigmoid's curvature, which
 * is negligible at 0.1 %). The −σ_u²/2 makes the pCTR calibrated (E[odds | pCTR] = pCTR's odds), while
 * σ_u > 0 leaves click variation that the predictor cannot see. ρ correlates the market price with the
 * pCTR (both read the same impression features).
 *
 * Defaults, and why (README.md beside this file lists the sources):
 * - meanCtr 0.001: iPinYou campaigns' click rates are around 0.03–0.1 % (one above 0.4 %); the issue
 *   asks for ≈ 0.1 %.
 * - pctrLogitStd 1.0, unexplainedLogitStd 0.5: a predictor whose AUC is about Φ(σ_p/√2) ≈ 0.76, the
 *   middle of the logistic-regression AUCs reported on iPinYou (≈ 0.6–0.98, mostly 0.7–0.8).
 * - meanMarketPrice 70, marketPriceLogStd 0.6: iPinYou CPMs are about 60–90; winning prices are
 *   right-skewed and commonly modelled as log-normal (Cui et al., KDD 2011).
 * - priceCtrCorrelation 0.3: positive (other bidders also pay more for likely clicks) but weak; no
 *   published figure was found, so it was fixed a priori and not tuned against any bidder.
 */
export interface SyntheticCampaignOptions {
  auctions?: number;
  meanCtr?: number;
  pctrLogitStd?: number;
  unexplainedLogitStd?: number;
  meanMarketPrice?: number;
  marketPriceLogStd?: number;
  priceCtrCorrelation?: number;
}

export const SYNTHETIC_CAMPAIGN_DEFAULTS = {
  auctions: 100_000,
  meanCtr: 0.001,
  pctrLogitStd: 1.0,
  unexplainedLogitStd: 0.5,
  meanMarketPrice: 70,
  marketPriceLogStd: 0.6,
  priceCtrCorrelation: 0.3,
} as const;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Draws a synthetic campaign of `auctions` auctions from the model above, reproducibly from `seed`. */
export function syntheticCampaign(seed: number, options: SyntheticCampaignOptions = {}): AuctionLog {
  const o = { ...SYNTHETIC_CAMPAIGN_DEFAULTS, ...options };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`syntheticCampaign: ${what}`);
  };
  check(Number.isSafeInteger(o.auctions) && o.auctions > 0, `auctions must be a positive integer, got ${o.auctions}`);
  check(o.meanCtr > 0 && o.meanCtr < 0.5, `meanCtr must be in (0, 0.5), got ${o.meanCtr}`);
  check(o.pctrLogitStd >= 0 && o.unexplainedLogitStd >= 0 && o.marketPriceLogStd >= 0, 'standard deviations must be non-negative');
  check(o.meanMarketPrice > 0 && o.meanMarketPrice < MAX_BID, `meanMarketPrice must be in (0, ${MAX_BID}), got ${o.meanMarketPrice}`);
  check(Math.abs(o.priceCtrCorrelation) <= 1, `priceCtrCorrelation must be in [−1, 1], got ${o.priceCtrCorrelation}`);
  const rng = new Rng(seed);
  const n = o.auctions;
  const clicks = new Uint8Array(n);
  const prices = new Int32Array(n);
  const pctrs = new Float64Array(n);
  const muLogit = Math.log(o.meanCtr) - (o.pctrLogitStd * o.pctrLogitStd) / 2;
  const muPrice = Math.log(o.meanMarketPrice) - (o.marketPriceLogStd * o.marketPriceLogStd) / 2;
  const rho = o.priceCtrCorrelation;
  const rhoPerp = Math.sqrt(1 - rho * rho);
  const su = o.unexplainedLogitStd;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    const predicted = muLogit + o.pctrLogitStd * z;
    const trueLogit = predicted + su * rng.normal() - (su * su) / 2;
    let price: number;
    do price = Math.round(Math.exp(muPrice + o.marketPriceLogStd * (rho * z + rhoPerp * rng.normal())));
    while (price > MAX_BID);
    pctrs[i] = sigmoid(predicted);
    clicks[i] = rng.random() < sigmoid(trueLogit) ? 1 : 0;
    prices[i] = price;
  }
  return { clicks, prices, pctrs, length: n, source: `synthetic campaign (seed ${seed})` };
}
