import { describe, expect, it } from 'vitest';
import { TERMS, type CarballState, type Transition, type Vec3 } from '../src';
import { car, cos, dot, len, mirror, state, sub } from './helpers';

// RLGym's field constants, restated from REFERENCES.md §1.
const BALL_RADIUS = 91.25;
const CAR_MAX_SPEED = 2300;
const BALL_MAX_SPEED = 6000;
const GOAL_DEPTH = 6000 - 5120 + BALL_RADIUS; // 971.25
const BLUE_GOAL_BACK: Vec3 = [0, -6000, 642.775 / 2];
const ORANGE_GOAL_BACK: Vec3 = [0, 6000, 642.775 / 2];
const attacked = (team: 0 | 1): Vec3 => (team === 0 ? ORANGE_GOAL_BACK : BLUE_GOAL_BACK);
const defended = (team: 0 | 1): Vec3 => (team === 0 ? BLUE_GOAL_BACK : ORANGE_GOAL_BACK);
const unit = (v: Vec3): Vec3 => {
  const n = len(v);
  return [v[0] / n, v[1] / n, v[2] / n];
};

function stateTerm(name: string, params: Record<string, unknown> = {}): (s: CarballState, slot: number) => number {
  const def = TERMS[name]!;
  if (def.kind !== 'state') throw new Error(`${name} is not a state term`);
  return def.create((def.params as { parse(x: unknown): never }).parse(params));
}

function transitionTerm(name: string, params: Record<string, unknown> = {}): (t: Transition, slot: number) => number {
  const def = TERMS[name]!;
  if (def.kind !== 'transition') throw new Error(`${name} is not a transition term`);
  return def.create((def.params as { parse(x: unknown): never }).parse(params));
}

function transition(prev: CarballState, next: CarballState, events: Record<string, number>[] = []): Transition {
  return { prev, next, actions: next.cars.map(() => 0), events: next.cars.map((_, i) => events[i]), nativeReward: null, terminated: false };
}

// A 1v1 with the ball in blue's half, both cars moving, and a 2v2 with the ball near orange's goal.
const oneVsOne = state({ pos: [500, 1000, 93.15], vel: [100, 800, 0] }, [
  car(0, [0, -2000, 17], [0, 1500, 0], Math.PI / 2, 36),
  car(1, [-1000, 3000, 17], [300, -1000, 0], -Math.PI / 2, 81),
]);
const twoVsTwo = state({ pos: [-700, 4300, 400], vel: [-250, 1200, 300] }, [
  car(0, [-2048, -2560, 17], [900, 900, 0], Math.PI / 4, 100),
  car(0, [600, 3500, 200], [-200, 1800, 400], 1.9, 0),
  car(1, [0, 4608, 17], [0, -400, 0], -Math.PI / 2, 12),
  car(1, [3000, 100, 17], [-1400, 500, 0], 2.8, 64),
]);
const situations: [string, CarballState][] = [
  ['1v1', oneVsOne],
  ['2v2', twoVsTwo],
];

describe.each(situations)('carball state terms on a hand-built %s', (_label, s) => {
  const slots = s.cars.map((_, i) => i);

  it('LiuDistancePlayerToBall = exp(−0.5·(|car − ball| − 91.25) / 2300)', () => {
    const f = stateTerm('liuDistancePlayerToBall');
    for (const i of slots) expect(f(s, i)).toBeCloseTo(Math.exp((-0.5 * (len(sub(s.cars[i]!.pos, s.ball.pos)) - BALL_RADIUS)) / CAR_MAX_SPEED), 12);
  });

  it("Lucy-SKG's shape exp(−0.5·d / (c·w_dis))^(1/w_den) generalises the Liu distance", () => {
    const f = stateTerm('liuDistancePlayerToBall', { dispersion: 1.1, density: 1.3 });
    for (const i of slots) {
      const d = len(sub(s.cars[i]!.pos, s.ball.pos)) - BALL_RADIUS;
      expect(f(s, i)).toBeCloseTo(Math.exp((-0.5 * d) / (CAR_MAX_SPEED * 1.1)) ** (1 / 1.3), 12);
    }
  });

  it('LiuDistanceBallToGoal = exp(−0.5·(|ball − attacked goal back| − 971.25) / 6000)', () => {
    const f = stateTerm('liuDistanceBallToGoal');
    const own = stateTerm('liuDistanceBallToGoal', { ownGoal: true });
    for (const i of slots) {
      const team = s.cars[i]!.team;
      expect(f(s, i)).toBeCloseTo(Math.exp((-0.5 * (len(sub(s.ball.pos, attacked(team))) - GOAL_DEPTH)) / BALL_MAX_SPEED), 12);
      expect(own(s, i)).toBeCloseTo(Math.exp((-0.5 * (len(sub(s.ball.pos, defended(team))) - GOAL_DEPTH)) / BALL_MAX_SPEED), 12);
    }
  });

  it('VelocityPlayerToBall = (unit car → ball) · v_car / 2300', () => {
    const f = stateTerm('velocityPlayerToBall');
    for (const i of slots) {
      const c = s.cars[i]!;
      expect(f(s, i)).toBeCloseTo(dot(unit(sub(s.ball.pos, c.pos)), c.vel) / CAR_MAX_SPEED, 12);
    }
  });

  it('SpeedTowardBall = max(0, (unit car → ball) · v_car) / 2300: 0 when driving away', () => {
    const f = stateTerm('speedTowardBall');
    for (const i of slots) {
      const c = s.cars[i]!;
      expect(f(s, i)).toBeCloseTo(Math.max(0, dot(unit(sub(s.ball.pos, c.pos)), c.vel)) / CAR_MAX_SPEED, 12);
      const away = { ...s, cars: s.cars.map((x, k) => (k === i ? { ...x, vel: [-(s.ball.pos[0] - x.pos[0]), -(s.ball.pos[1] - x.pos[1]), 0] as Vec3 } : x)) };
      expect(f(away, i)).toBe(0);
    }
  });

  it('VelocityBallToGoal = (unit ball → attacked goal back) · v_ball / 6000', () => {
    const f = stateTerm('velocityBallToGoal');
    for (const i of slots) expect(f(s, i)).toBeCloseTo(dot(unit(sub(attacked(s.cars[i]!.team), s.ball.pos)), s.ball.vel) / BALL_MAX_SPEED, 12);
  });

  it('FaceBall = forward · (unit car → ball), forward = (cos ψ, sin ψ, 0) for a car yawed by ψ', () => {
    const f = stateTerm('faceBall');
    for (const i of slots) {
      const c = s.cars[i]!;
      const psi = 2 * Math.atan2(c.quat[2], c.quat[3]);
      expect(f(s, i)).toBeCloseTo(dot([Math.cos(psi), Math.sin(psi), 0], unit(sub(s.ball.pos, c.pos))), 12);
    }
  });

  it('SaveBoost = √(boost / 100)', () => {
    const f = stateTerm('saveBoost');
    for (const i of slots) expect(f(s, i)).toBeCloseTo(Math.sqrt(s.cars[i]!.boost / 100), 12);
  });

  it('AlignBallGoal = defense·cos(ball − car, car − own goal) + offense·cos(ball − car, attacked goal − car)', () => {
    const f = stateTerm('alignBallGoal', { defense: 0.5, offense: 0.7 });
    for (const i of slots) {
      const c = s.cars[i]!;
      const toBall = sub(s.ball.pos, c.pos);
      expect(f(s, i)).toBeCloseTo(0.5 * cos(toBall, sub(c.pos, defended(c.team))) + 0.7 * cos(toBall, sub(attacked(c.team), c.pos)), 12);
    }
  });

  it('ball-goal distance difference = R_off(w_dis 0.6) − R_def(w_dis 0.4)', () => {
    const f = stateTerm('ballGoalDistanceDifference');
    for (const i of slots) {
      const team = s.cars[i]!.team;
      const off = Math.exp((-0.5 * (len(sub(s.ball.pos, attacked(team))) - GOAL_DEPTH)) / (BALL_MAX_SPEED * 0.6));
      const def = Math.exp((-0.5 * (len(sub(s.ball.pos, defended(team))) - GOAL_DEPTH)) / (BALL_MAX_SPEED * 0.4));
      expect(f(s, i)).toBeCloseTo(off - def, 12);
    }
  });

  it.each(['liuDistancePlayerToBall', 'liuDistanceBallToGoal', 'velocityPlayerToBall', 'velocityBallToGoal', 'faceBall', 'saveBoost', 'alignBallGoal', 'ballGoalDistanceDifference'])(
    '%s pays each car the same in the mirrored field with the teams swapped',
    (name) => {
      const f = stateTerm(name);
      const m = mirror(s);
      for (const i of slots) expect(f(m, i)).toBeCloseTo(f(s, i), 10);
    },
  );
});

describe('carball transition terms', () => {
  it('TouchBall pays ((z + r) / 2r)^aerial_weight on a touch, and nothing without one', () => {
    const f = transitionTerm('touchBall', { aerialWeight: 1.5 });
    const t = transition(twoVsTwo, twoVsTwo, [{ touch: 1 }, {}, { touch: 2 }]);
    const expected = ((400 + BALL_RADIUS) / (2 * BALL_RADIUS)) ** 1.5;
    expect(f(t, 0)).toBeCloseTo(expected, 12);
    expect(f(t, 1)).toBe(0);
    expect(f(t, 2)).toBeCloseTo(expected, 12);
    expect(f(t, 3)).toBe(0);
    expect(transitionTerm('touchBall')(t, 0)).toBe(1); // aerial weight 0: a plain touch reward
  });

  it('EventReward is the weighted sum of the step\'s event counts (boost pickup as a tank fraction)', () => {
    const w = { goal: 1, teamGoal: 2, concede: -3, touch: 0.1, shot: 1.5, save: 3, demo: 2, demoed: -2, boostPickup: 0.5 };
    const f = transitionTerm('event', w);
    const e = { goal: 1, teamGoal: 1, concede: 0, touch: 2, shot: 1, save: 0, demo: 1, demoed: 1, boostPickup: 12 };
    const t = transition(oneVsOne, oneVsOne, [e, { concede: 1 }]);
    expect(f(t, 0)).toBeCloseTo(1 + 2 + 0.2 + 1.5 + 2 - 2 + 0.5 * 0.12, 12);
    expect(f(t, 1)).toBeCloseTo(-3, 12);
  });

  it('touch ball-to-goal acceleration = Δ(ball speed toward the attacked goal) / 2300, on touches only', () => {
    const after: CarballState = { ...oneVsOne, ball: { ...oneVsOne.ball, pos: [520, 1050, 120], vel: [-300, 2500, 400] } };
    const f = transitionTerm('touchBallToGoalAcceleration');
    const t = transition(oneVsOne, after, [{ touch: 1 }, { touch: 1 }]);
    for (const i of [0, 1]) {
      const goal = attacked(oneVsOne.cars[i]!.team);
      const speed = (s: CarballState) => dot(unit(sub(goal, s.ball.pos)), s.ball.vel);
      expect(f(t, i)).toBeCloseTo((speed(after) - speed(oneVsOne)) / CAR_MAX_SPEED, 12);
    }
    expect(f(t, 0)).toBeGreaterThan(0); // blue sent the ball toward orange's goal
    expect(f(t, 1)).toBeLessThan(0);
    expect(f(transition(oneVsOne, after, [{}, {}]), 0)).toBe(0);
  });
});
