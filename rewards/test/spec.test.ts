import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEnv, type Env } from '@rewardlab/sim';
import { componentTable, parseRewardSpec, PRESET_NAMES, RewardFunction, RewardSpecError, RewardTermError, TERM_NAMES, withReward, type RewardSpec } from '../src';
import { car, state } from './helpers';

function specError(spec: unknown): RewardSpecError {
  try {
    parseRewardSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(RewardSpecError);
    return err as RewardSpecError;
  }
  throw new Error('expected a RewardSpecError');
}

describe('presets', () => {
  // Lucy-SKG's final configuration, REFERENCES.md §1.
  const lucyTable = [
    ['ballGoalDistanceDifference', 'potential', 2],
    ['velocityBallToGoal', 'potential', 0.8],
    ['saveBoost', 'potential', 0.5],
    ['distanceWeightedAlign', 'potential', 0.6],
    ['offensivePotential', 'potential', 1],
    ['goal', 'event', 10],
    ['concede', 'event', -3],
    ['shot', 'event', 1.5],
    ['save', 'event', 3],
    ['touchBallToGoalAcceleration', 'event', 0.25],
    ['touch', 'event', 0.05],
    ['demo', 'event', 2],
    ['demoed', 'event', -2],
  ] as const;

  it("lucy is Lucy-SKG's component table: five KRC/shape potentials and eight events, team spirit 0.3, γ = 1", () => {
    const spec = parseRewardSpec('lucy');
    expect(componentTable(spec).map((r) => [r.name, r.kind, r.weight])).toEqual(lucyTable.map((r) => [...r]));
    expect(spec.teamSpirit).toBe(0.3);
    expect(spec.gamma).toBe(1);
    const formulas = Object.fromEntries(componentTable(spec).map((r) => [r.name, r.formula]));
    expect(formulas.offensivePotential).toBe('shaped krc(alignBallGoal(defense=0.5, offense=0.5), velocityPlayerToBall, liuDistancePlayerToBall(density=1.1))');
    expect(formulas.distanceWeightedAlign).toBe('shaped krc(alignBallGoal, liuDistancePlayerToBall(dispersion=1.1))');
    expect(spec.components.ballGoalDistanceDifference).toMatchObject({ offensiveDispersion: 0.6, defensiveDispersion: 0.4 });
  });

  it('sum has the same components and weights as a plain weighted sum: no KRC, no potentials', () => {
    const rows = componentTable(parseRewardSpec('sum'));
    expect(rows.map((r) => [r.name, r.weight])).toEqual(lucyTable.map(([name, , weight]) => [name, weight]));
    expect(rows.map((r) => r.kind)).toEqual(lucyTable.map(([, kind]) => (kind === 'potential' ? 'state' : 'event')));
    for (const r of rows) expect(r.formula).not.toMatch(/krc|shaped/);
  });

  it('sparse pays goals only, and native is the env\'s own reward', () => {
    expect(componentTable(parseRewardSpec('sparse')).map((r) => [r.name, r.weight, r.formula])).toEqual([
      ['goal', 1, 'event(teamGoal=1)'],
      ['concede', -1, 'event(concede=1)'],
    ]);
    expect(componentTable(parseRewardSpec('native')).map((r) => r.formula)).toEqual(['native']);
  });

  it('a parsed spec is JSON and parses to itself; files and JSON strings parse too', () => {
    for (const name of PRESET_NAMES) {
      const spec = parseRewardSpec(name);
      expect(parseRewardSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'rewards-')), 'spec.json');
    writeFileSync(file, JSON.stringify({ components: { c: { term: 'constant', value: 1 } }, transforms: [{ type: 'minForm' }] }));
    expect(parseRewardSpec(file)).toEqual({ gamma: 1, components: { c: { term: 'constant', value: 1 } }, transforms: [{ type: 'minForm', temperature: 0.1 }] });
    expect(parseRewardSpec('{"components":{"c":{"term":"native"}}}').components).toEqual({ c: { term: 'native' } });
  });
});

describe('bad specs name the JSON path and the valid names', () => {
  it('an unknown term lists every valid term', () => {
    const err = specError({ components: { speed: { krc: [{ term: 'faceBall' }, { term: 'velocityPlayerToBal' }] } } });
    expect(err.issues[0]!.path).toBe('$.components.speed.krc[1].term');
    expect(err.issues[0]!.validNames).toEqual(TERM_NAMES);
    expect(err.message).toContain('unknown term "velocityPlayerToBal"');
    for (const name of TERM_NAMES) expect(err.message).toContain(name);
  });

  it('a parameter of the wrong type, or an unknown parameter, names the parameter and the valid ones', () => {
    const wrongType = specError({ components: { near: { term: 'liuDistancePlayerToBall', dispersion: '1.1' } } });
    expect(wrongType.issues[0]!.path).toBe('$.components.near.dispersion');
    expect(wrongType.message).toMatch(/expected number/);
    expect(wrongType.message).toContain('dispersion, density');
    const unknownParam = specError({ components: { near: { term: 'liuDistancePlayerToBall', spread: 2 } } });
    expect(unknownParam.message).toContain('spread');
    expect(unknownParam.message).toContain('dispersion, density');
    expect(specError({ components: { a: { term: 'faceBall', weight: 'high' } } }).issues[0]!.path).toBe('$.components.a.weight');
  });

  it('a cycle of refs is reported with its path and chain', () => {
    const err = specError({ components: { a: { sum: [{ term: 'faceBall' }, { ref: 'b' }] }, b: { krc: [{ ref: 'a' }] } } });
    expect(err.issues[0]!.path).toBe('$.components.b.krc[0].ref');
    expect(err.message).toContain('a → b → a');
  });

  it('an unknown ref lists the components; an unknown preset or missing file lists the presets', () => {
    const err = specError({ components: { a: { term: 'faceBall', gate: { on: { ref: 'goals' }, threshold: 0 } }, goal: { term: 'event', goal: 1 } } });
    expect(err.issues[0]!.path).toBe('$.components.a.gate.on.ref');
    expect(err.message).toContain('valid components: a, goal');
    const missing = specError('lucky');
    expect(missing.message).toContain('lucy, sum, sparse, native');
  });

  it('a potential over a transition term, a node of two kinds, and unknown top-level keys are errors', () => {
    expect(specError({ components: { a: { term: 'event', goal: 1, potential: true } } }).issues[0]!.path).toBe('$.components.a.potential');
    expect(specError({ components: { a: { term: 'faceBall', krc: [] } } }).message).toContain('exactly one of term, krc, sum, ref');
    expect(specError({ components: { a: { term: 'faceBall' } }, teamspirit: 0.3 }).message).toMatch(/teamspirit/);
    expect(specError({ components: { a: { term: 'faceBall' } }, transforms: [{ type: 'minForm', temperature: -1 }] }).issues[0]!.path).toBe('$.transforms[0].temperature');
  });

  it('carball terms on an env without carball state name the term\'s path', async () => {
    const env = await makeEnv('CartPole-v1');
    expect(() => withReward(env, 'lucy')).toThrow(/\$\.components\.ballGoalDistanceDifference\.term: term ballGoalDistanceDifference needs a carball env/);
  });
});

describe('non-finite rewards', () => {
  it('a term that returns NaN throws an error naming the term and its path', () => {
    const s = state({ pos: [NaN, 0, 93] }, [car(0, [0, -1000, 17])]);
    const f = new RewardFunction({ components: { approach: { krc: [{ term: 'faceBall' }, { term: 'liuDistancePlayerToBall' }] } } } as unknown as RewardSpec, { numSlots: 1, domain: 'carball' });
    expect(() => f.evaluate({ prev: s, next: s, actions: [0], events: [], nativeReward: null, terminated: false })).toThrow(RewardTermError);
    expect(() => f.evaluate({ prev: s, next: s, actions: [0], events: [], nativeReward: null, terminated: false })).toThrow('reward term faceBall at $.components.approach.krc[0] returned NaN for agent slot 0');
  });

  it('inside withReward, an infinite value stops the step with the term named', async () => {
    const env = withReward(await makeEnv<Env>('CartPole-v1'), { components: { inverse: { term: 'observation', index: 0, power: -1, weight: 0 }, native: { term: 'native' } } });
    env.reset({ seed: 0, options: { low: 0, high: 0 } });
    // x stays exactly 0 on the first step only if the cart does not move; force it: the obs is 0 at reset
    // and x after one step is 0 + τ·ẋ = 0 because ẋ was 0.
    expect(() => env.step(1)).toThrow(/reward term observation at \$\.components\.inverse returned (Infinity|-Infinity|NaN)/);
  });
});
