import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewardlab } from './cli-helpers';


interface AgentResult {
  clicks: number;
  winRate: number;
  cpm: number | null;
  ecpc: number | null;
  cost: number;
  wins: number;
  auctions: number;
}

describe('rewardlab rtb', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtb-cli-'));

  it('synth writes seeded iPinYou-format train.txt and test.txt, the same for the same seed', () => {
    const r = rewardlab('rtb', 'synth', '--out', join(dir, 'a'), '--seed', '3', '--auctions', '20000', '--json');
    expect(r.code).toBe(0);
    const res = r.last as { train: { path: string; auctions: number; cpm: number }; test: { path: string; auctions: number } };
    expect(res.train).toMatchObject({ path: join(dir, 'a', 'train.txt'), auctions: 20000 });
    expect(res.test).toMatchObject({ path: join(dir, 'a', 'test.txt'), auctions: 20000 });
    const lines = readFileSync(res.train.path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20000);
    expect(lines[0]).toMatch(/^[01] \d+ [0-9.e-]+$/);
    rewardlab('rtb', 'synth', '--out', join(dir, 'b'), '--seed', '3', '--auctions', '20000');
    expect(readFileSync(join(dir, 'b', 'test.txt'), 'utf8')).toBe(readFileSync(join(dir, 'a', 'test.txt'), 'utf8'));
  }, 60_000);

  it('eval reports per c0 and agent { clicks, winRate, cpm, ecpc, cost } summed over the test episodes', () => {
    rewardlab('rtb', 'synth', '--out', join(dir, 'e'), '--seed', '1', '--auctions', '30000');
    const r = rewardlab('rtb', 'eval', '--train', join(dir, 'e', 'train.txt'), '--test', join(dir, 'e', 'test.txt'), '--n', '300', '--c0', '1/16,0.25', '--json');
    expect(r.code).toBe(0);
    const res = r.last as { n: number; results: { c0: number; budget: number; agents: Record<string, AgentResult> }[]; train: { cpm: number } };
    expect(res.n).toBe(300);
    expect(res.results.map((row) => row.c0)).toEqual([1 / 16, 0.25]);
    for (const row of res.results) {
      expect(row.budget).toBe(Math.floor(res.train.cpm * row.c0 * 300));
      expect(Object.keys(row.agents)).toEqual(['const', 'rand', 'mcpc', 'lin', 'rlb']);
      for (const a of Object.values(row.agents)) {
        expect(a.auctions).toBe(30000);
        expect(a.cost).toBeLessThanOrEqual(row.budget * 100); // 100 episodes of 300
        expect(a.winRate).toBeCloseTo(a.wins / a.auctions, 12);
        if (a.wins) expect(a.cpm).toBeCloseTo(a.cost / a.wins, 9);
        if (a.clicks) expect(a.ecpc).toBeCloseTo(a.cost / 1000 / a.clicks, 9);
      }
    }
  }, 120_000);

  it('eval --agents picks the agents; bad c0 and agents are usage errors', () => {
    const train = join(dir, 'e', 'train.txt');
    const test = join(dir, 'e', 'test.txt');
    const r = rewardlab('rtb', 'eval', '--train', train, '--test', test, '--n', '200', '--c0', '1/8', '--agents', 'mcpc,lin', '--json');
    expect(r.code).toBe(0);
    expect(Object.keys((r.last as { results: { agents: object }[] }).results[0]!.agents)).toEqual(['mcpc', 'lin']);
    for (const bad of ['0', '-1/8', 'half', '1/0']) {
      const e = rewardlab('rtb', 'eval', '--train', train, '--test', test, '--c0', bad, '--json');
      expect(e.code).toBe(1);
      expect((e.last as { error: { name: string; message: string } }).error).toMatchObject({ name: 'UsageError' });
      expect((e.last as { error: { message: string } }).error.message).toMatch(/c0 must be a positive number/);
    }
    const a = rewardlab('rtb', 'eval', '--train', train, '--test', test, '--agents', 'lin,dqn', '--json');
    expect(a.code).toBe(1);
    expect((a.last as { error: { message: string } }).error.message).toMatch(/expected comma-separated agents from const, rand, mcpc, lin, rlb/);
  }, 60_000);

  it('a malformed or empty file is one error line naming the file and line', () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '0 52 0.001\n1 -4 0.2\n');
    const r = rewardlab('rtb', 'eval', '--train', bad, '--test', bad, '--json');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`rewardlab: error: ${bad}:2: payprice must be non-negative, got -4 in "1 -4 0.2" (expected "click payprice pCTR")`);
    expect(r.last).toEqual({ error: { name: 'AuctionFileError', message: `${bad}:2: payprice must be non-negative, got -4 in "1 -4 0.2" (expected "click payprice pCTR")` } });
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const e = rewardlab('rtb', 'eval', '--train', empty, '--test', bad, '--json');
    expect((e.last as { error: { message: string } }).error.message).toBe(`${empty}: no auctions (the file is empty)`);
  }, 60_000);

  it('bench rtb times the DP and reports V(N, B)', () => {
    const r = rewardlab('bench', 'rtb', '--n', '100', '--c0', '1/4', '--json');
    expect(r.code).toBe(0);
    const res = r.last as { bench: string; n: number; budget: number; cells: number; seconds: number; cpuSeconds: number; value: number };
    expect(res).toMatchObject({ bench: 'rtb', n: 100, budget: Math.floor(80 * 0.25 * 100), cells: 100 * (2000 + 1) });
    expect(res.seconds).toBeGreaterThan(0);
    expect(res.value).toBeGreaterThan(0);
  }, 60_000);
});
