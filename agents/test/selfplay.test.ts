import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { box, discrete, LOOKUP_TABLE_SIZE, multiDiscrete, nearestLookupAction, Rng, type VecStepResult } from '@rewardlab/sim';
import { ActorCritic, eloExpected, eloUpdate, evaluateCarball, evaluationEnvOptions, INITIAL_ELO, jsonEnvOptions, loadPolicy, OpponentPool, randomActionInto, readPolicyFile, selectBackend, teamZeroScore, teamZeroTouches, train, type IterationMetrics } from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'rl-selfplay-'));

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('Elo', () => {
  it('expected scores follow the logistic curve with a 400-point scale', () => {
    expect(eloExpected(1200, 1200)).toBe(0.5);
    expect(eloExpected(1600, 1200)).toBeCloseTo(1 / (1 + 10 ** -1), 12);
    expect(eloExpected(1200, 1600) + eloExpected(1600, 1200)).toBeCloseTo(1, 12);
  });

  it('a win moves K·(1 − E) points from the loser to the winner', () => {
    const [a, b] = eloUpdate(1200, 1300, 1, 16);
    const e = 1 / (1 + 10 ** (100 / 400));
    expect(a).toBeCloseTo(1200 + 16 * (1 - e), 10);
    expect(b).toBeCloseTo(1300 - 16 * (1 - e), 10);
    const [c, d] = eloUpdate(1250, 1250, 0.5, 16);
    expect([c, d]).toEqual([1250, 1250]);
  });
});

describe('OpponentPool', () => {
  it('keeps a window of snapshots starting at the learner rating and plays the latest at the given ratio', async () => {
    const pool = new OpponentPool({ window: 3, playLatestRatio: 0.25, snapshotEvery: 1, eloK: 16, teamSize: 1 });
    const policy = new ActorCritic(3, discrete(2), [4], 'tanh', new Rng(0));
    for (let step = 0; step < 5; step++) await pool.snapshot(policy, step * 100);
    expect(pool.entries.map((e) => e.step)).toEqual([200, 300, 400]);
    expect(pool.entries.every((e) => e.elo === INITIAL_ELO)).toBe(true);
    const rng = new Rng(1);
    let latest = 0;
    for (let i = 0; i < 4000; i++) if (pool.choose(rng) === null) latest += 1;
    expect(latest / 4000).toBeGreaterThan(0.22);
    expect(latest / 4000).toBeLessThan(0.28);
    pool.record(pool.entries[0]!, 1);
    expect(pool.learnerElo).toBeCloseTo(INITIAL_ELO + 8, 10);
    expect(pool.entries[0]!.elo).toBeCloseTo(INITIAL_ELO - 8, 10);
    policy.dispose();
  });

  it('scores an episode from team 0 events: goal 1, concede 0, neither ½', () => {
    expect(teamZeroScore({ agents: [{ events: { teamGoal: 1, concede: 0 } }] })).toBe(1);
    expect(teamZeroScore({ agents: [{ events: { teamGoal: 0, concede: 1 } }] })).toBe(0);
    expect(teamZeroScore({ agents: [{ events: { teamGoal: 0, concede: 0 } }] })).toBe(0.5);
  });
});

describe('carball self-play and evaluation', () => {
  it('trains carball-1v1 with the lucy reward against an opponent pool, recording Elo games', async () => {
    const result = await train({ env: 'carball-1v1', steps: 4 * 2 * 64, numEnvs: 2, seed: 3, ppo: { numSteps: 64, minibatchSize: 128, epochs: 1, hiddenSizes: [32, 32] }, selfPlay: { snapshotEvery: 1, playLatestRatio: 0 }, envOptions: { noTouchTimeoutSeconds: 2 }, out: join(tmp, 'cb') });
    expect(result.selfPlay).toBeDefined();
    // Every rollout played a snapshot (ratio 0), so every finished episode was a rated game.
    expect(result.selfPlay!.games).toBeGreaterThan(0);
    expect(result.selfPlay!.wins + result.selfPlay!.draws + result.selfPlay!.losses).toBe(result.selfPlay!.games);
    // Against snapshots only team 0 learns: 2 envs × 1 slot × 64 steps per iteration, not all 4 slots.
    expect(result.steps).toBe(result.iterations * 2 * 64);
  }, 300_000);

  it('resuming a self-play run restores its pool, ratings and schedule: the same metrics as the uninterrupted run', async () => {
    // Snapshots every 2 iterations, half the rollouts against the pool: by the checkpoint at iteration 4
    // the pool holds two snapshots and has rated games, which the resumed run must carry on from.
    const common = { env: 'carball-1v1', steps: 8 * 2 * 2 * 32, numEnvs: 2, seed: 5, ppo: { numSteps: 32, minibatchSize: 32, epochs: 1, hiddenSizes: [16, 16] }, selfPlay: { snapshotEvery: 2, playLatestRatio: 0.5 }, envOptions: { noTouchTimeoutSeconds: 1 } };
    const full: IterationMetrics[] = [];
    // The run keeps only its last two checkpoints: copy the first one aside as it is written.
    const kept = join(tmp, 'sp-kept');
    const fullResult = await train({ ...common, out: join(tmp, 'sp-full'), checkpointEvery: 4, onIteration: (m) => full.push(m), onCheckpoint: (dir) => void (existsSync(kept) || cpSync(dir, kept, { recursive: true })) });
    const saved = JSON.parse(readFileSync(join(kept, 'trainer.json'), 'utf8')) as { selfPlay: { entries: unknown[]; iterations: number } };
    expect(saved.selfPlay.entries).toHaveLength(2);
    expect(saved.selfPlay.iterations).toBe(4);
    const resumed: IterationMetrics[] = [];
    const result = await train({ ...common, out: join(tmp, 'sp-resumed'), resume: kept, onIteration: (m) => resumed.push(m) });
    const pick = (m: IterationMetrics) => [m.step, m.policyLoss, m.valueLoss, m.entropy, m.approxKl];
    expect(resumed.map(pick)).toEqual(full.slice(4).map(pick));
    expect(result.selfPlay).toEqual(fullResult.selfPlay);
  }, 300_000);

  it('trains against a scripted opponent instead of self-play: only team 0 learns, games are counted', async () => {
    for (const opponent of ['random', 'ball-chaser'] as const) {
      const seen: IterationMetrics[] = [];
      const result = await train({ env: 'carball-1v1', steps: 3 * 2 * 32, numEnvs: 2, seed: 4, opponent, ppo: { numSteps: 32, minibatchSize: 32, epochs: 1, hiddenSizes: [16, 16] }, envOptions: { noTouchTimeoutSeconds: 1 }, out: join(tmp, `scripted-${opponent}`), onIteration: (m) => seen.push(m) });
      // each iteration carries the run's results so far; the last one the final tally
      expect(seen.at(-1)!.opponent).toEqual({ games: result.opponent!.games, wins: result.opponent!.wins, draws: result.opponent!.draws, losses: result.opponent!.losses, touches: result.opponent!.touches });
      expect(seen.map((m) => m.opponent!.games)).toEqual([...seen.map((m) => m.opponent!.games)].sort((a, b) => a - b));
      expect(result.selfPlay).toBeUndefined();
      // 2 envs × 1 learning slot × 32 steps per iteration: the opponent's slots are not learner steps.
      expect(result.steps).toBe(result.iterations * 2 * 32);
      expect(result.opponent!.kind).toBe(opponent);
      // 1 s no-touch timeouts (15 steps) end several games per rollout.
      expect(result.opponent!.games).toBeGreaterThan(0);
      expect(result.opponent!.wins + result.opponent!.draws + result.opponent!.losses).toBe(result.opponent!.games);
      expect(Number.isInteger(result.opponent!.touches) && result.opponent!.touches >= 0).toBe(true);
    }
    await expect(train({ env: 'carball-1v1', steps: 64, opponent: 'random', selfPlay: true, out: join(tmp, 'both') })).rejects.toThrow(/either a scripted opponent or self-play/);
    await expect(train({ env: 'CartPole-v1', steps: 64, opponent: 'random', out: join(tmp, 'cp') })).rejects.toThrow(/two-team carball env/);
  }, 300_000);

  it('a random opponent plays any carball action parser; the ball chaser only the lookup table', async () => {
    const result = await train({ env: 'carball-1v1', steps: 2 * 32, numEnvs: 2, seed: 2, opponent: 'random', ppo: { numSteps: 32, minibatchSize: 32, epochs: 1, hiddenSizes: [8] }, envOptions: { actionParser: 'multi-discrete', noTouchTimeoutSeconds: 1 }, out: join(tmp, 'random-md') });
    expect(result.steps).toBe(64);
    expect(result.opponent!.games).toBeGreaterThan(0);
    await expect(train({ env: 'carball-1v1', steps: 64, numEnvs: 2, opponent: 'ball-chaser', envOptions: { actionParser: 'continuous' }, out: join(tmp, 'chaser-box') })).rejects.toThrow(/ball-chaser opponent plays carball's discrete lookup actions; this env's actions are box/);
  }, 120_000);

  it('policy.json keeps the JSON env options; evaluation sees and acts through them but plays standard episodes', async () => {
    const trainOptions = { obsBuilder: 'advanced-local', noTouchTimeoutSeconds: 1, stateSetter: { mixture: [{ setter: 'kickoff', weight: 1 }, { setter: 'ground', weight: 1 }] } };
    const result = await train({ env: 'carball-1v1', steps: 2 * 32, numEnvs: 2, seed: 1, opponent: 'random', ppo: { numSteps: 32, minibatchSize: 32, epochs: 1, hiddenSizes: [8] }, envOptions: trainOptions, out: join(tmp, 'local-obs') });
    const meta = await readPolicyFile(result.policyDir);
    expect(meta.obsSize).toBe(113);
    expect(meta.envOptions).toEqual(trainOptions);
    // the episode rules stay at the env defaults in evaluation; what the policy sees does not
    expect(evaluationEnvOptions(meta)).toEqual({ obsBuilder: 'advanced-local' });
    expect(evaluationEnvOptions({ envId: 'reach', envOptions: { reward: 'sparse' } })).toEqual({ reward: 'sparse' });
    // a function (a custom state setter) cannot be saved and is left out
    expect(jsonEnvOptions({ noTouchTimeoutSeconds: 1, stateSetter: () => ({}) })).toEqual({ noTouchTimeoutSeconds: 1 });
    expect(jsonEnvOptions({ stateSetter: () => ({}) })).toBeUndefined();
    const { policy, normalize } = await loadPolicy(result.policyDir);
    const r = await evaluateCarball({ env: 'carball-1v1', policy, opponent: 'random', episodes: 1, seed: 0, normalize, envOptions: { ...evaluationEnvOptions(meta), noTouchTimeoutSeconds: 1 } });
    expect(r.episodes).toBe(1);
    await expect(evaluateCarball({ env: 'carball-1v1', policy, opponent: 'random', episodes: 1, seed: 0, normalize })).rejects.toThrow(/the policy expects 113 observations, carball-1v1 gives 107/);
    policy.dispose();
  }, 120_000);

  it('evaluates against the scripted ball chaser with each env playing its share of the episodes, whatever their length', async () => {
    // A policy whose greedy action is always full throttle with boost: it acts the same in any batch,
    // so env i of a vector seeded s plays the episodes of a lone env seeded s + i.
    const throttle = nearestLookupAction([1, 0, 0, 0, 0, 0, 1, 0]);
    const policy = new ActorCritic(107, discrete(LOOKUP_TABLE_SIZE), [8], 'tanh', new Rng(0));
    const [kernel, bias] = policy.actor.variables.slice(-2) as [tf.Variable, tf.Variable];
    kernel.assign(tf.zerosLike(kernel));
    bias.assign(tf.oneHot([throttle], LOOKUP_TABLE_SIZE).reshape([LOOKUP_TABLE_SIZE]).toFloat());
    const run = (seed: number, episodes: number, numEnvs: number) => evaluateCarball({ env: 'carball-1v1', policy, opponent: 'ball-chaser', episodes, seed, numEnvs, envOptions: { noTouchTimeoutSeconds: 4, timeoutSeconds: 8 } });
    // Seed 2's first two episodes run to the 8 s timeout; seed 3's first ends in a goal after 67 steps.
    // Counting the first three episodes to finish would take one of env 0's and two of env 1's.
    const both = await run(2, 3, 2); // env 0 plays 2 episodes, env 1 plays 1
    const [first, second] = [await run(2, 2, 1), await run(3, 1, 1)];
    policy.dispose();
    expect(both.episodes).toBe(3);
    expect(both.wins + both.draws + both.losses).toBe(3);
    expect([both.wins, both.draws, both.losses, both.goalsFor, both.goalsAgainst]).toEqual([first.wins + second.wins, first.draws + second.draws, first.losses + second.losses, first.goalsFor + second.goalsFor, first.goalsAgainst + second.goalsAgainst]);
    expect(both.touchesPerEpisode * 3).toBeCloseTo(first.touchesPerEpisode * 2 + second.touchesPerEpisode, 9);
    expect(both.meanEpisodeSteps * 3).toBeCloseTo(first.meanEpisodeSteps * 2 + second.meanEpisodeSteps, 9);
    expect(second.meanEpisodeSteps).toBeLessThan(first.meanEpisodeSteps);
    // driving straight hits the ball from the centre kickoff spawn, which seed 2 draws
    expect(both.touchesPerEpisode).toBeGreaterThan(0);
    expect(Number.isFinite(both.meanBallVelocityToGoal)).toBe(true);
  }, 120_000);
});

describe('teamZeroTouches', () => {
  it("sums team 0's touch events over the envs, from the final step's info where an env reset within the step", () => {
    const events = (...touches: number[]) => touches.map((touch) => ({ events: { touch, goal: 0 } }));
    const envInfos = [
      { agents: events(1, 0, 1, 1) }, // team 0 = slots 0 and 1: 1 touch
      { agents: events(0, 0, 0, 0), final: { agents: events(1, 1, 0, 0) } }, // reset within the step: 2
      { agents: events(0, 1, 0, 0) }, // 1
      {}, // no agents reported
    ];
    const step = { info: { autoreset: new Uint8Array(4), finalObs: new Float32Array(0), episodes: [], envInfos } } as unknown as VecStepResult;
    expect(teamZeroTouches(step, 2)).toBe(4);
    expect(teamZeroTouches(step, 1)).toBe(2);
  });
});

describe('randomActionInto', () => {
  it('draws uniformly over each kind of space, within its bounds', () => {
    const rng = new Rng(3);
    const n = 6000;
    const counts = new Array<number>(5).fill(0);
    const one = new Int32Array(1);
    for (let i = 0; i < n; i++) {
      randomActionInto(discrete(5), rng, one, 0);
      counts[one[0]!]! += 1;
    }
    // binomial(6000, 1/5): sd = sqrt(6000 · 0.2 · 0.8) ≈ 31; every count within 5 sd of 1200
    for (const c of counts) expect(Math.abs(c - n / 5)).toBeLessThan(5 * Math.sqrt(n * 0.2 * 0.8));
    const md = new Int32Array(2 + 3);
    for (let i = 0; i < 200; i++) {
      randomActionInto(multiDiscrete([3, 2, 4]), rng, md, 2);
      expect(md[0]).toBe(0);
      expect(md[2]).toBeGreaterThanOrEqual(0), expect(md[2]).toBeLessThan(3);
      expect(md[3]).toBeGreaterThanOrEqual(0), expect(md[3]).toBeLessThan(2);
      expect(md[4]).toBeGreaterThanOrEqual(0), expect(md[4]).toBeLessThan(4);
    }
    const b = new Float32Array(2);
    let sum0 = 0;
    for (let i = 0; i < n; i++) {
      randomActionInto(box([2], [-1, 10], [1, 12]), rng, b, 0);
      expect(Math.abs(b[0]!)).toBeLessThanOrEqual(1);
      expect(b[1]).toBeGreaterThanOrEqual(10), expect(b[1]).toBeLessThanOrEqual(12);
      sum0 += b[0]!;
    }
    // uniform on [−1, 1]: mean 0, sd of the mean sqrt(1/3 / 6000) ≈ 0.0075
    expect(Math.abs(sum0 / n)).toBeLessThan(5 * Math.sqrt(1 / 3 / n));
    expect(() => randomActionInto(box([1], -Infinity, 1), rng, b, 0)).toThrow(/unbounded box/);
  });
});
