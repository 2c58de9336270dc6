import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewardlab } from './cli-helpers';

const dir = mkdtempSync(join(tmpdir(), 'reward-cli-'));


function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

type Vec3 = [number, number, number];
const car = (team: 0 | 1, id: number, pos: Vec3) => ({ id, team, pos, vel: [0, 0, 0], angVel: [0, 0, 0], quat: [0, 0, 0, 1], boost: 50, onGround: true, demolished: false });
const carballState = (ball: Vec3, blue: Vec3, orange: Vec3) => ({ tick: 0, score: [0, 0], ball: { pos: ball, vel: [0, 0, 0], angVel: [0, 0, 0] }, cars: [car(0, 0, blue), car(1, 1, orange)] });

interface EvalResult {
  components: string[];
  agents: string[];
  lines: { line: number; agents: { total: number; components: Record<string, number> }[] }[];
}

describe('rewardlab reward eval', () => {
  const s1 = carballState([0, 0, 93], [0, -1500, 17], [800, 2000, 17]);
  const s2 = carballState([100, 300, 93], [0, -1000, 17], [700, 1500, 17]);
  const transitions = file('carball.jsonl', [JSON.stringify({ prev: s1, next: s2, actions: [0, 0] }), '', JSON.stringify({ prev: s2, next: s1, events: [{ touch: 1 }, {}] })].join('\n'));
  const spec = file('spec.json', JSON.stringify({ components: { near: { term: 'liuDistancePlayerToBall' }, touch: { term: 'event', touch: 1, weight: 0.5 } } }));

  it('prints, per line and agent, the total and every component (carball states in uu)', () => {
    const r = rewardlab('reward', 'eval', '--env', 'carball-1v1', '--spec', spec, '--transitions', transitions, '--json');
    expect(r.code).toBe(0);
    const res = r.last as unknown as EvalResult;
    expect(res.components).toEqual(['near', 'touch']);
    expect(res.agents).toEqual(['blue-0', 'orange-0']);
    expect(res.lines.map((l) => l.line)).toEqual([1, 3]);
    // LiuDistancePlayerToBall = exp(−0.5·(|car − ball| − 91.25) / 2300) on the next state.
    const liu = (s: typeof s1, slot: number) => Math.exp((-0.5 * (Math.hypot(...s.cars[slot]!.pos.map((x, k) => x - s.ball.pos[k]!)) - 91.25)) / 2300);
    for (const [i, next] of [s2, s1].entries()) {
      for (const slot of [0, 1]) {
        const a = res.lines[i]!.agents[slot]!;
        expect(a.components.near).toBeCloseTo(liu(next, slot), 12);
        expect(a.components.touch).toBe(i === 1 && slot === 0 ? 0.5 : 0);
        expect(a.total).toBeCloseTo(a.components.near! + a.components.touch!, 12);
      }
    }
  });

  it('works on classic envs with observations as states', () => {
    const lines = file('cartpole.jsonl', JSON.stringify({ prev: [0, 0, 0.1, 0], next: [0.01, 0.2, 0.05, -0.3], actions: [1], nativeReward: 1 }));
    const r = rewardlab('reward', 'eval', '--env', 'CartPole-v1', '--spec', '{"gamma":0.5,"components":{"native":{"term":"native"},"upright":{"term":"observation","index":2,"scale":-1,"potential":true}}}', '--transitions', lines, '--json');
    expect(r.code).toBe(0);
    const a = (r.last as unknown as EvalResult).lines[0]!.agents[0]!;
    expect(a.components.native).toBe(1);
    expect(a.components.upright).toBeCloseTo(0.5 * -Math.fround(0.05) - -Math.fround(0.1), 9);
  });

  it('a line that is not a valid state is an error naming its line number and the field', () => {
    const bad = { ...s2, cars: [s2.cars[0], { ...s2.cars[1], pos: [700, 'far', 17] }] };
    const lines = file('bad.jsonl', [JSON.stringify({ prev: s1, next: s2 }), JSON.stringify({ prev: s1, next: bad })].join('\n'));
    const r = rewardlab('reward', 'eval', '--env', 'carball-1v1', '--spec', 'lucy', '--transitions', lines, '--json');
    expect(r.code).toBe(1);
    const message = (r.last as { error: { message: string } }).error.message;
    expect(message).toContain('line 2');
    expect(message).toContain('next.cars[1].pos[1]');
    expect(rewardlab('reward', 'eval', '--env', 'carball-1v1', '--spec', 'lucy', '--transitions', file('json.jsonl', '{"prev": '), '--json').stderr).toMatch(/line 1: not valid JSON/);
  });

  it('a bad spec is an error with its JSON path and the valid term names', () => {
    const r = rewardlab('reward', 'eval', '--env', 'carball-1v1', '--spec', '{"components":{"x":{"term":"faceBal"}}}', '--transitions', transitions, '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('$.components.x.term: unknown term "faceBal"; valid terms: liuDistancePlayerToBall,');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('rewardlab reward compare', () => {
  const A = '{"components":{"cos":{"term":"observation","index":0},"speed":{"term":"observation","index":2,"power":2,"weight":-0.1}}}';
  const scaled = (k: number) => JSON.stringify({ components: { cos: { term: 'observation', index: 0, weight: k }, speed: { term: 'observation', index: 2, power: 2, weight: -0.1 * k } } });

  it('prints { epic, starc }: ≈ 0 for a positive rescaling, ≈ 1 for the negation', () => {
    const same = rewardlab('reward', 'compare', '--env', 'Pendulum-v1', '--spec', A, '--spec', scaled(3), '--samples', '64', '--json');
    expect(same.code).toBe(0);
    expect(same.last).toMatchObject({ epic: expect.closeTo(0, 6), starc: expect.closeTo(0, 6), samples: 64 });
    const opposite = rewardlab('reward', 'compare', '--env', 'Pendulum-v1', '--spec', A, '--spec', scaled(-1), '--samples', '64', '--json');
    expect(opposite.last).toMatchObject({ epic: expect.closeTo(1, 6), starc: expect.closeTo(1, 6) });
  });

  it('compares carball presets on transitions sampled from the carball env', () => {
    const r = rewardlab('reward', 'compare', '--env', 'carball-1v1', '--spec', 'sum', '--spec', 'sparse', '--samples', '32', '--canonical-samples', '16', '--json');
    expect(r.code).toBe(0);
    const { epic, starc } = r.last as { epic: number; starc: number };
    expect(epic).toBeGreaterThanOrEqual(0);
    expect(epic).toBeLessThanOrEqual(1);
    expect(starc).toBeGreaterThanOrEqual(0);
  });

  it('needs exactly two specs', () => {
    const r = rewardlab('reward', 'compare', '--env', 'Pendulum-v1', '--spec', A, '--json');
    expect(r.code).toBe(1);
    expect((r.last as { error: { message: string } }).error.message).toContain('exactly two --spec');
  });
});
