import { describe, expect, it } from 'vitest';
import { componentTable, meanOfNormalized, parseRewardSpec, RewardFunction, RewardSpecError, RewardTermError, unitNormalize, VlmRewardBasis, VlmRewardError, type Transition } from '../src';

const norm = (v: readonly number[]): number => Math.hypot(...v);
const unit = (v: readonly number[]): number[] => v.map((x) => x / norm(v));
const sub = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x - b[i]!);
const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((t, x, i) => t + x * b[i]!, 0);

/** VLM-RM as the paper writes it: R = 1 − ½‖α·proj_L(s) + (1 − α)·s − g‖², proj_L(s) = b + d·dᵀ(s − b)/‖d‖². */
function paperReward(rawS: readonly number[], g: readonly number[], b: readonly number[], alpha: number): number {
  const s = unit(rawS);
  const d = sub(g, b);
  const t = dot(d, sub(s, b)) / dot(d, d);
  const proj = b.map((x, i) => x + t * d[i]!);
  const v = s.map((x, i) => alpha * proj[i]! + (1 - alpha) * x - g[i]!);
  return 1 - 0.5 * dot(v, v);
}

describe('the VLM-RM reward', () => {
  it('with α = 0 and one goal prompt is the cosine similarity of state and goal', () => {
    const s = [3, 4, 0];
    const g = Float64Array.from([1, 0, 0]);
    const basis = new VlmRewardBasis(g, null, 0);
    // cos([3,4,0], [1,0,0]) = 3/5.
    expect(basis.reward(s)).toBeCloseTo(0.6, 12);
    const other = [-1, 2, 2];
    expect(basis.reward(other)).toBeCloseTo(-1 / 3, 12);
  });

  it('with α = 1 keeps only the baseline → goal direction: R = 1 − ((s − g)·d̂)²/2', () => {
    const g = Float64Array.from([1, 0]);
    const b = Float64Array.from([0, 1]);
    const basis = new VlmRewardBasis(g, b, 1);
    for (const angle of [0, 0.3, Math.PI / 2, 2]) {
      const s = [Math.cos(angle), Math.sin(angle)];
      // d̂ = (1, −1)/√2, so (s − g)·d̂ = (cos − 1 − sin)/√2.
      const expected = 1 - (Math.cos(angle) - 1 - Math.sin(angle)) ** 2 / 4;
      expect(basis.reward(s)).toBeCloseTo(expected, 12);
    }
    // At the goal R = 1; at the baseline R = 1 − ½‖b − g‖² = 0.
    expect(basis.reward([1, 0])).toBeCloseTo(1, 12);
    expect(basis.reward([0, 1])).toBeCloseTo(0, 12);
  });

  it('equals the paper’s projection form for every α (0, 0.5, 1, 0.25) on unnormalised states', () => {
    const g = [0.6, 0.8, 0, 0];
    const b = [0, 0.6, 0.8, 0];
    const states = [
      [1, 2, 3, 4],
      [-2, 0.5, 1, 0],
      [0.1, 0.1, -3, 2],
    ];
    for (const alpha of [0, 0.5, 1, 0.25]) {
      const basis = new VlmRewardBasis(Float64Array.from(g), Float64Array.from(b), alpha);
      for (const s of states) expect(basis.reward(s)).toBeCloseTo(paperReward(s, g, b, alpha), 12);
    }
  });

  it('scores rows of a batch with rewards(), reading each row at its offset', () => {
    const basis = new VlmRewardBasis(Float64Array.from([0, 1]), null, 0);
    const out = basis.rewards(Float32Array.of(0, 2, 1, 0, -3, 0, 1, 1), 4);
    expect(Array.from(out).map((x) => +x.toFixed(12))).toEqual([1, 0, 0, +Math.SQRT1_2.toFixed(12)]);
  });

  it('takes a prompt list as the mean of its unit-normalised embeddings (not renormalised)', () => {
    const g = meanOfNormalized(Float32Array.of(2, 0, 0, 3), 2, 2);
    expect(Array.from(g)).toEqual([0.5, 0.5]);
    const basis = new VlmRewardBasis(g, null, 0);
    // R = 1 − ½‖s − g‖² with s = (1, 0): 1 − ½(0.25 + 0.25) = 0.75.
    expect(basis.reward([5, 0])).toBeCloseTo(0.75, 12);
  });

  it('refuses α outside [0, 1], α > 0 without a baseline, empty lists, zero embeddings and a goal equal to its baseline', () => {
    const g = Float64Array.from([1, 0]);
    expect(() => new VlmRewardBasis(g, Float64Array.from([0, 1]), 1.5)).toThrow(/alpha must be within \[0, 1\], got 1.5/);
    expect(() => new VlmRewardBasis(g, Float64Array.from([0, 1]), -0.1)).toThrow(VlmRewardError);
    expect(() => new VlmRewardBasis(g, null, 0.5)).toThrow(/needs baseline prompts/);
    expect(() => new VlmRewardBasis(g, Float64Array.from([1, 0]), 0.5)).toThrow(/same point/);
    expect(() => meanOfNormalized(new Float32Array(0), 0, 2, 'goal')).toThrow(/goal list is empty/);
    expect(() => unitNormalize([0, 0])).toThrow(/norm 0/);
    expect(() => new VlmRewardBasis(g, null, 0).reward([0, 0])).toThrow(/a frame's embedding has norm 0/);
  });
});

describe('the vlm spec node', () => {
  const model = '/models/clip';

  it('fills its defaults: prompts as lists, α = 0.5 with a baseline and 0 without; the parsed spec parses to itself', () => {
    const spec = parseRewardSpec({ components: { open: { vlm: { model, goal: 'the door is open', baseline: ['the door is closed'] } }, plain: { vlm: { model, goal: ['a', 'b'] } } } });
    expect(spec.components.open).toEqual({ vlm: { model, goal: ['the door is open'], baseline: ['the door is closed'], alpha: 0.5 } });
    expect(spec.components.plain).toEqual({ vlm: { model, goal: ['a', 'b'], alpha: 0 } });
    expect(parseRewardSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(componentTable(spec).map((r) => r.kind)).toEqual(['state', 'state']);
  });

  it('names the field of every problem', () => {
    const issues = (vlm: unknown): string[] => {
      try {
        parseRewardSpec({ components: { v: { vlm } } });
      } catch (err) {
        expect(err).toBeInstanceOf(RewardSpecError);
        return (err as RewardSpecError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      throw new Error('expected a RewardSpecError');
    };
    expect(issues({ model, goal: [] })).toEqual(['$.components.v.vlm.goal: the prompt list is empty: give at least one prompt']);
    expect(issues({ model, goal: ['ok', ' '] })).toEqual(['$.components.v.vlm.goal[1]: a prompt is empty']);
    expect(issues({ model, goal: 'x', baseline: 'y', alpha: 2 })[0]).toBe('$.components.v.vlm.alpha: alpha must be within [0, 1]');
    expect(issues({ model, goal: 'x', alpha: 0.5 })[0]).toMatch(/^\$\.components\.v\.vlm\.alpha: alpha 0.5 needs baseline prompts/);
    expect(issues({ model, goal: 'x', size: 4 })[0]).toMatch(/^\$\.components\.v\.vlm\.size: /);
    expect(issues({ model, goal: 'x', prompt: 'y' })[0]).toMatch(/^\$\.components\.v\.vlm: .*"prompt".*\(valid: model, goal, baseline, alpha, camera, size, dtype\)/);
    expect(issues({ goal: 'x' })[0]).toMatch(/^\$\.components\.v\.vlm\.model: /);
  });

  it('pays the score given for the next state, once per component, and as a potential γ·Φ(s′) − Φ(s)', () => {
    const vlm = { model, goal: ['the pole is upright'], baseline: ['the pole has fallen'], alpha: 1 };
    const f = new RewardFunction({ gamma: 0.9, components: { v: { vlm, weight: 2 }, shaped: { vlm, potential: true } } }, { numSlots: 1, domain: 'generic' });
    // Equal nodes share one frame term.
    expect(f.frameTerms).toHaveLength(1);
    expect(f.frameTerms[0]!.paths).toEqual(['$.components.v', '$.components.shaped']);
    const prev = Float32Array.of(0);
    const next = Float32Array.of(1);
    f.setFrameScores(prev, [0.25]);
    f.setFrameScores(next, [0.75]);
    const t: Transition = { prev, next, actions: [0], events: [{}], nativeReward: [1], terminated: false };
    const { components, total } = f.evaluate(t);
    expect(components.v![0]).toBeCloseTo(2 * 0.75, 12);
    expect(components.shaped![0]).toBeCloseTo(0.9 * 0.75 - 0.25, 12);
    expect(total[0]).toBeCloseTo(1.5 + 0.425, 12);
    // Φ(terminal) = 0.
    expect(f.evaluate({ ...t, terminated: true }).components.shaped![0]).toBeCloseTo(-0.25, 12);
  });

  it('fails naming the node when a state has no score', () => {
    const f = new RewardFunction({ components: { v: { vlm: { model, goal: ['x'], alpha: 0 } } } }, { numSlots: 1, domain: 'generic' });
    const t: Transition = { prev: Float32Array.of(0), next: Float32Array.of(1), actions: [0], events: [{}], nativeReward: [0], terminated: false };
    expect(() => f.evaluate(t)).toThrow(RewardTermError);
    expect(() => f.evaluate(t)).toThrow(/vlm term at \$\.components\.v has no score for this state/);
    expect(() => f.setFrameScores(t.next as object, [1, 2])).toThrow(/2 values for 1 frame terms/);
  });
});
