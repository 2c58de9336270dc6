import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { box, checkEnv, describeEnvs, dict, discrete, flatDim, formatSpace, loadEnvModule, makeEnv, multiDiscrete, registerEnv, Rng, sampleSpace, spaceContains, SpaceError, UnknownEnvError, validateSpace, whyNotContained } from '../src';

describe('Rng', () => {
  it('is deterministic per seed and distinct across seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const xs = Array.from({ length: 5 }, () => a.random());
    expect(Array.from({ length: 5 }, () => b.random())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.random())).not.toEqual(xs);
    expect(new Rng(2 ** 40).random()).not.toBe(new Rng(0).random());
  });

  it('draws uniforms in range with the right mean, integers without bias, normals with unit variance', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0;
    const counts = [0, 0, 0];
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(-2, 4);
      expect(u).toBeGreaterThanOrEqual(-2);
      expect(u).toBeLessThan(4);
      sum += u;
      counts[rng.integer(3)]! += 1;
      sq += rng.normal() ** 2;
    }
    // mean of U(-2, 4) is 1 with standard error 6/sqrt(12 n) ≈ 0.012
    expect(Math.abs(sum / n - 1)).toBeLessThan(0.05);
    for (const c of counts) expect(Math.abs(c / n - 1 / 3)).toBeLessThan(0.015);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });

  it('round-trips its state exactly', () => {
    const rng = new Rng(99);
    rng.normal();
    const state = rng.getState();
    const expected = [rng.random(), rng.normal(), rng.integer(10)];
    const restored = Rng.fromState(JSON.parse(JSON.stringify(state)));
    expect([restored.random(), restored.normal(), restored.integer(10)]).toEqual(expected);
  });

  it('rejects bad seeds', () => {
    expect(() => new Rng(-1)).toThrow(/seed must be a non-negative safe integer, got -1/);
    expect(() => new Rng(NaN)).toThrow(/got NaN/);
  });
});

describe('spaces', () => {
  it('checks membership and says why a value is not a member', () => {
    const s = box([2], [-1, 0], [1, 5]);
    expect(spaceContains(s, [0, 5])).toBe(true);
    expect(whyNotContained(s, [0, 6])).toBe('entry 1 = 6 is outside [0, 5]');
    expect(whyNotContained(s, [0])).toBe('expected 2 numbers for Box([-1 0], [1 5], (2,)), got 1');
    expect(whyNotContained(discrete(3), 3)).toBe('3 is outside Discrete(3) (valid: 0…2)');
    expect(whyNotContained(multiDiscrete([2, 3]), [1, 3])).toBe('entry 1 = 3 is outside [0, 2]');
    expect(whyNotContained(dict({ a: discrete(2) }), { a: 1, b: 2 })).toBe('unexpected key "b"');
    expect(whyNotContained(dict({ a: discrete(2) }), {})).toBe('missing key "a"');
  });

  it('samples members of every kind of space', () => {
    const rng = new Rng(3);
    const space = dict({ b: box([3], [-1, -Infinity, 2], [1, 0, Infinity]), d: discrete(4), m: multiDiscrete([2, 5]) });
    for (let i = 0; i < 200; i++) expect(whyNotContained(space, sampleSpace(space, rng))).toBeNull();
    expect(flatDim(space)).toBe(3 + 4 + 7);
  });

  it('rejects malformed descriptors with the path of the problem', () => {
    expect(() => validateSpace({ kind: 'box', shape: [2], low: [0], high: 1 })).toThrow(new SpaceError('space: box low has 1 entries, shape [2] needs 2'));
    expect(() => validateSpace({ kind: 'dict', spaces: { x: { kind: 'discrete', n: 0 } } })).toThrow('space.x: discrete n must be a positive integer, got 0');
    expect(() => validateSpace({ kind: 'tuple' })).toThrow(/unknown space kind "tuple"/);
    expect(formatSpace(box([1], -2, 2))).toBe('Box(-2, 2, (1,))');
  });
});

describe('registry', () => {
  it('names the registered ids when an env id is unknown', async () => {
    await expect(makeEnv('CartPole-v0')).rejects.toThrow(UnknownEnvError);
    await expect(makeEnv('CartPole-v0')).rejects.toThrow(/unknown env id "CartPole-v0"; registered envs: .*CartPole-v1.*Pendulum-v1/);
  });

  it('describes the built-in envs with their spaces and limits', async () => {
    const envs = await describeEnvs();
    const cart = envs.find((e) => e.id === 'CartPole-v1')!;
    expect(cart).toMatchObject({ numAgents: 1, actionSpace: { kind: 'discrete', n: 2 }, maxEpisodeSteps: 500 });
    expect(envs.find((e) => e.id === 'Pendulum-v1')).toMatchObject({ actionSpace: { kind: 'box', shape: [1], low: -2, high: 2 }, maxEpisodeSteps: 200 });
  });

  it('refuses duplicate ids', () => {
    expect(() => registerEnv('CartPole-v1', () => { throw new Error('unused'); })).toThrow(/already registered/);
  });

  it('loads a user env module whose default export is a factory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-envmod-'));
    const file = join(dir, 'my-env.mjs');
    writeFileSync(file, `
      let state = 0;
      export const envId = 'Mine-v0';
      export default function createEnv() {
        let rngState = 1;
        return {
          id: 'Mine-v0',
          observationSpace: { kind: 'box', shape: [1], low: -100, high: 100 },
          actionSpace: { kind: 'discrete', n: 2 },
          reset(p = {}) {
            if (p.seed !== undefined && (!Number.isInteger(p.seed) || p.seed < 0)) throw new Error('Mine-v0: bad seed');
            if (p.options !== undefined && typeof p.options !== 'object') throw new Error('Mine-v0: bad options');
            if (p.seed !== undefined) rngState = p.seed % 7;
            state = rngState; return { obs: Float32Array.of(state), info: {} };
          },
          step(a) {
            if (a !== 0 && a !== 1) throw new Error('Mine-v0: invalid action ' + a);
            state += a ? 1 : -1; return { obs: Float32Array.of(state), reward: -Math.abs(state), terminated: Math.abs(state) > 20, truncated: false, info: {} };
          },
          close() {},
        };
      }`);
    const { id, factory } = await loadEnvModule(file);
    expect(id).toBe('Mine-v0');
    await expect(checkEnv(await factory({}))).resolves.toMatchObject({ envId: 'Mine-v0' });
    await expect(loadEnvModule(join(dir, 'missing.mjs'))).rejects.toThrow(/cannot load env module/);
  });
});
