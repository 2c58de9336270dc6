/**
 * `rewardlab rtb synth|eval` and `rewardlab bench rtb`: the real-time-bidding domain's data, the
 * paper's evaluation (Cai et al., WSDM 2017; REFERENCES.md §3) and the DP's speed.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  auctionStats,
  BIDDER_NAMES,
  DEFAULT_BIDDERS,
  evaluateCampaign,
  marketPriceDistribution,
  readAuctionFile,
  sliceAuctions,
  solveRlbDp,
  syntheticCampaign,
  writeAuctionFile,
  type AuctionStats,
  type BidderName,
  type CampaignEvaluation,
} from '@rewardlab/sim';
import { emitResult } from './output';
import { nonNegativeInt, positiveInt } from './parse';

export const DEFAULT_C0S = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2] as const;

/** One budget ratio: a positive fraction (`1/32`) or decimal (`0.125`). */
export function parseC0(text: string): number {
  const s = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(s);
  const value = m ? Number(m[1]) / Number(m[2]) : /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`c0 must be a positive number or fraction such as 1/32, got "${text}"`);
  return value;
}

function c0List(value: string): number[] {
  const parts = value.split(',').filter((p) => p.trim() !== '');
  if (!parts.length) throw new InvalidArgumentError(`expected comma-separated budget ratios such as 1/32,1/8; got "${value}"`);
  return parts.map(parseC0);
}

function agentList(value: string): BidderName[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = parts.filter((p) => !(BIDDER_NAMES as readonly string[]).includes(p));
  if (!parts.length || bad.length) throw new InvalidArgumentError(`expected comma-separated agents from ${BIDDER_NAMES.join(', ')}; got "${value}"`);
  return [...new Set(parts)] as BidderName[];
}

function formatC0(c0: number): string {
  const inverse = 1 / c0;
  return Number.isInteger(inverse) ? `1/${inverse}` : String(c0);
}

export interface RtbSynthResult {
  out: string;
  seed: number;
  train: AuctionStats & { path: string };
  test: AuctionStats & { path: string };
}

export interface RtbEvalResult {
  train: AuctionStats & { path: string };
  test: AuctionStats & { path: string };
  n: number;
  agents: BidderName[];
  results: {
    c0: number;
    budget: number;
    agents: Record<string, { clicks: number; winRate: number; cpm: number | null; ecpc: number | null; cost: number; wins: number; auctions: number; episodes: number; parameter?: number }>;
    /** (RLB − Lin) / Lin clicks, in percent, when both ran. */
    rlbVsLinPercent?: number | null;
    /** (RLB-pCTR − Lin) / Lin clicks, in percent, when both ran. */
    rlbPctrVsLinPercent?: number | null;
  }[];
  totals: Record<string, number>;
  dpSeconds: number;
  wallSeconds: number;
}

export interface RtbBenchResult {
  bench: 'rtb';
  n: number;
  cpm: number;
  c0: number;
  budget: number;
  cells: number;
  seconds: number;
  cpuSeconds: number;
  cellsPerSecond: number;
  /** V(N, B): the expected clicks of an episode under the DP's model. */
  value: number;
}

function humanEval(r: RtbEvalResult): string {
  const lines = [`${r.test.path}: ${r.test.auctions} auctions, N = ${r.n}; clicks per agent (train ${r.train.path})`];
  const pct = (x: number | null | undefined): string => (x === undefined ? '' : x === null ? '         —' : `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`.padStart(10));
  const hasLin = r.agents.includes('lin');
  lines.push(['c0'.padEnd(6), ...r.agents.map((a) => a.padStart(9)), hasLin && r.agents.includes('rlb') ? ' RLB vs Lin' : '', hasLin && r.agents.includes('rlb-pctr') ? ' RLB-pCTR vs Lin' : ''].join(''));
  for (const row of r.results) {
    lines.push([formatC0(row.c0).padEnd(6), ...r.agents.map((a) => String(row.agents[a]!.clicks).padStart(9)), pct(row.rlbVsLinPercent), pct(row.rlbPctrVsLinPercent)].join(''));
  }
  lines.push(['total'.padEnd(6), ...r.agents.map((a) => String(r.totals[a]).padStart(9))].join(''));
  return lines.join('\n');
}

export function toEvalResult(evaluation: CampaignEvaluation, paths: { train: string; test: string }, agents: BidderName[], wallSeconds: number): RtbEvalResult {
  const results = evaluation.rows.map((row) => {
    const out: RtbEvalResult['results'][number]['agents'] = {};
    for (const agent of agents) {
      const r = row.agents[agent]!;
      out[agent] = { clicks: r.clicks, winRate: r.winRate, cpm: r.cpm, ecpc: r.ecpc, cost: r.cost, wins: r.wins, auctions: r.auctions, episodes: r.episodes, ...(r.parameter !== undefined ? { parameter: r.parameter } : {}) };
    }
    const lin = row.agents.lin;
    const rlb = row.agents.rlb;
    const rlbPctr = row.agents['rlb-pctr'];
    const vsLin = (clicks: number): number | null => (lin!.clicks ? ((clicks - lin!.clicks) / lin!.clicks) * 100 : null);
    return {
      c0: row.c0,
      budget: row.budget,
      agents: out,
      ...(lin && rlb ? { rlbVsLinPercent: vsLin(rlb.clicks) } : {}),
      ...(lin && rlbPctr ? { rlbPctrVsLinPercent: vsLin(rlbPctr.clicks) } : {}),
    };
  });
  const totals: Record<string, number> = {};
  for (const agent of agents) totals[agent] = results.reduce((s, row) => s + row.agents[agent]!.clicks, 0);
  return {
    train: { path: paths.train, ...evaluation.train },
    test: { path: paths.test, ...evaluation.test },
    n: evaluation.episodeLength,
    agents,
    results,
    totals,
    dpSeconds: evaluation.dpSeconds,
    wallSeconds,
  };
}

/** Times the RLB DP for N auctions and the budget of c0 at a campaign with the given CPM. */
export function benchRtb(opts: { n: number; cpm: number; c0: number; seed: number }): RtbBenchResult {
  // The market-price histogram of a synthetic campaign with that CPM (the DP's cost depends on its shape
  // only through how far the optimal bids reach).
  const campaign = syntheticCampaign(opts.seed, { auctions: 200_000, meanMarketPrice: opts.cpm });
  const stats = auctionStats(campaign);
  const budget = Math.floor(opts.cpm * opts.c0 * opts.n);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const value = solveRlbDp({ auctions: opts.n, maxBudget: budget, marketPdf: marketPriceDistribution(campaign.prices), thetaAvg: stats.ctr });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cells = opts.n * (budget + 1);
  return { bench: 'rtb', n: opts.n, cpm: opts.cpm, c0: opts.c0, budget, cells, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, cellsPerSecond: cells / seconds, value: value.lastRow[budget]! };
}

export function registerRtbCommands(program: Command): void {
  const rtb = program.command('rtb').description('real-time bidding (Cai et al. 2017): synthetic campaigns and the RLB / baseline evaluation');

  rtb
    .command('synth')
    .description('write a seeded synthetic campaign as iPinYou-format train.txt and test.txt (`click payprice pCTR` per line)')
    .requiredOption('--out <dir>', 'directory to write train.txt and test.txt into')
    .option('--seed <n>', 'seed', nonNegativeInt, 0)
    .option('--auctions <n>', 'auctions in each file', positiveInt, 500_000)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action((opts: { out: string; seed: number; auctions: number; json?: boolean }) => {
      const out = resolve(opts.out);
      mkdirSync(out, { recursive: true });
      // One campaign, split in time: the first half trains, the second tests (as iPinYou's days do).
      const campaign = syntheticCampaign(opts.seed, { auctions: 2 * opts.auctions });
      const train = sliceAuctions(campaign, 0, opts.auctions);
      const test = sliceAuctions(campaign, opts.auctions, opts.auctions);
      const trainPath = join(out, 'train.txt');
      const testPath = join(out, 'test.txt');
      writeAuctionFile(trainPath, train);
      writeAuctionFile(testPath, test);
      const result: RtbSynthResult = { out, seed: opts.seed, train: { path: trainPath, ...auctionStats(train) }, test: { path: testPath, ...auctionStats(test) } };
      emitResult(result, opts, (r: RtbSynthResult) =>
        [r.train, r.test].map((f) => `${f.path}: ${f.auctions} auctions, ${f.clicks} clicks (CTR ${(f.ctr * 100).toFixed(3)} %), CPM ${f.cpm.toFixed(1)}`).join('\n'),
      );
    });

  rtb
    .command('eval')
    .description("run the paper's protocol: per c0, each agent's clicks, win rate, CPM, eCPC and cost summed over the test episodes")
    .requiredOption('--train <file>', 'training log (iPinYou format): market prices, θ_avg, CPM and the baselines\' tuning')
    .requiredOption('--test <file>', 'test log (iPinYou format), cut into episodes of N auctions')
    .option('--n <auctions>', 'N: auctions per episode', positiveInt, 1000)
    .option('--c0 <list>', 'budget ratios, comma-separated (B = training CPM · c0 · N)', c0List, [...DEFAULT_C0S])
    .option('--agents <list>', `agents, comma-separated, from ${BIDDER_NAMES.join(', ')} (rlb-pctr: RLB whose DP integrates over the pCTR distribution)`, agentList, [...DEFAULT_BIDDERS])
    .option('--seed <n>', "seed of Rand's bids", nonNegativeInt, 0)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action((opts: { train: string; test: string; n: number; c0: number[]; agents: BidderName[]; seed: number; json?: boolean }) => {
      const started = performance.now();
      const train = readAuctionFile(opts.train);
      const test = readAuctionFile(opts.test);
      if (!opts.json) process.stderr.write(`rtb eval: ${train.length} training and ${test.length} test auctions; tuning and solving…\n`);
      const evaluation = evaluateCampaign(train, test, { episodeLength: opts.n, c0s: opts.c0, agents: opts.agents, seed: opts.seed });
      const result = toEvalResult(evaluation, { train: opts.train, test: opts.test }, opts.agents, (performance.now() - started) / 1000);
      emitResult(result, opts, humanEval);
    });
}

/** `rewardlab bench rtb`, attached to the `bench` group. */
export function registerRtbBench(bench: Command): void {
  bench
    .command('rtb')
    .description('RLB dynamic programme speed: N auctions and the budget of c0 at a campaign of the given CPM (target ≤ 10 s for N = 1000, c0 = 1/2, CPM 80)')
    .option('--n <auctions>', 'N: auctions per episode', positiveInt, 1000)
    .option('--cpm <price>', 'the campaign\'s cost per impression (mean market price)', (v) => {
      const x = Number(v);
      if (!(x > 0 && x < 300)) throw new InvalidArgumentError(`expected a CPM in (0, 300), got "${v}"`);
      return x;
    }, 80)
    .option('--c0 <ratio>', 'budget ratio', parseC0, 1 / 2)
    .option('--seed <n>', 'seed of the synthetic campaign whose market prices the DP uses', nonNegativeInt, 0)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action((opts: { n: number; cpm: number; c0: number; seed: number; json?: boolean }) => {
      const result = benchRtb(opts);
      emitResult(result, opts, (r: RtbBenchResult) =>
        `RLB DP, N = ${r.n}, B = ${r.budget} (CPM ${r.cpm}, c0 ${formatC0(r.c0)}): ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ${(r.cellsPerSecond / 1e6).toFixed(1)} M cells/s; V(N, B) = ${r.value.toFixed(3)} clicks`,
      );
    });
}
