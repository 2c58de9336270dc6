/**
 * Reward terms: named functions that pay each agent slot a number for one transition (s, a, s′) with
 * the env's per-agent events. A *state* term is a function of one state (RLGym computes it on s′), so it
 * can also serve as a potential Φ; a *transition* term needs the whole step (events, native reward, Δ).
 *
 * Carball terms follow RLGym's common rewards and Lucy-SKG (REFERENCES.md §1), mirrored per team: the
 * goal a car attacks is +y for team 0 and −y for team 1.
 */
import { z } from 'zod';
import {
  RLGYM,
  cosineSimilarity,
  dot,
  forwardOf,
  norm,
  opponentGoalBack,
  ownGoalBack,
  sub,
  unit,
  type CarballState,
  type Vec3,
} from './carball';

/** The state a term sees: a CarballState for carball envs, the observation (or one per slot) elsewhere. */
export type RewardState = unknown;

/** One env step as the reward terms see it. */
export interface Transition {
  readonly prev: RewardState;
  readonly next: RewardState;
  /** One action per agent slot. */
  readonly actions: readonly unknown[];
  /** Per-slot events (carball: `info.agents[slot].events`); undefined where the env reports none. */
  readonly events: readonly (Readonly<Record<string, number>> | undefined)[];
  /** The env's own reward per slot; null where it is not known (offline evaluation, reward distances). */
  readonly nativeReward: readonly number[] | null;
  /** s′ is terminal: potentials are 0 there (Ng et al. 1999). */
  readonly terminated: boolean;
}

/** 'carball': needs CarballState states; 'any': works on every env. */
export type TermDomain = 'carball' | 'any';

export type StateFunction = (state: RewardState, slot: number) => number;
export type TransitionFunction = (t: Transition, slot: number) => number;

interface TermBase<P> {
  readonly name: string;
  readonly description: string;
  readonly domain: TermDomain;
  /** A strict zod object: unknown parameters and wrong types are errors. */
  readonly params: z.ZodType<P>;
}
export interface StateTermDefinition<P = Record<string, unknown>> extends TermBase<P> {
  readonly kind: 'state';
  create(params: P): StateFunction;
}
export interface TransitionTermDefinition<P = Record<string, unknown>> extends TermBase<P> {
  readonly kind: 'transition';
  create(params: P): TransitionFunction;
}
export type TermDefinition<P = Record<string, unknown>> = StateTermDefinition<P> | TransitionTermDefinition<P>;

const finite = () => z.number().finite();
const positive = () => z.number().finite().positive();

function carball(state: RewardState): CarballState {
  return state as CarballState;
}

/** Lucy-SKG's parameterised shape: exp(−0.5·d / (c·w_dis))^(1/w_den); w_dis = w_den = 1 is RLGym's Liu distance. */
export function lucyShape(distance: number, scale: number, dispersion: number, density: number): number {
  return Math.exp((-0.5 * distance) / (scale * dispersion)) ** (1 / density);
}

/** LiuDistanceBallToGoal's d: |ball − goal back| − (6000 − 5120 + 91.25). */
function ballToGoalDistance(ball: Vec3, goalBack: Vec3): number {
  return norm(sub(ball, goalBack)) - (RLGYM.backNetY - RLGYM.backWallY + RLGYM.ballRadius);
}

/** (unit vector ball → goal back) · v_ball: the ball's speed toward a goal, uu/s. */
function ballSpeedTowardGoal(s: CarballState, goalBack: Vec3): number {
  return dot(unit(sub(goalBack, s.ball.pos)), s.ball.vel);
}

const shapeParams = z.strictObject({ dispersion: positive().default(1), density: positive().default(1) });

const liuDistancePlayerToBall: StateTermDefinition<z.infer<typeof shapeParams>> = {
  name: 'liuDistancePlayerToBall',
  description: 'exp(−0.5·d / (2300·dispersion))^(1/density), d = |car − ball| − 91.25 (RLGym; Lucy-SKG shape)',
  domain: 'carball',
  kind: 'state',
  params: shapeParams,
  create: ({ dispersion, density }) => (state, slot) => {
    const s = carball(state);
    const d = norm(sub(s.cars[slot]!.pos, s.ball.pos)) - RLGYM.ballRadius;
    return lucyShape(d, RLGYM.carMaxSpeed, dispersion, density);
  },
};

const ballToGoalParams = shapeParams.extend({ ownGoal: z.boolean().default(false) });
const liuDistanceBallToGoal: StateTermDefinition<z.infer<typeof ballToGoalParams>> = {
  name: 'liuDistanceBallToGoal',
  description: 'exp(−0.5·d / (6000·dispersion))^(1/density), d = |ball − opponent goal back| − 971.25 (RLGym; ownGoal: the own goal)',
  domain: 'carball',
  kind: 'state',
  params: ballToGoalParams,
  create: ({ dispersion, density, ownGoal }) => (state, slot) => {
    const s = carball(state);
    const team = s.cars[slot]!.team;
    const goal = ownGoal ? ownGoalBack(team) : opponentGoalBack(team);
    return lucyShape(ballToGoalDistance(s.ball.pos, goal), RLGYM.ballMaxSpeed, dispersion, density);
  },
};

const noParams = z.strictObject({});

const velocityPlayerToBall: StateTermDefinition<object> = {
  name: 'velocityPlayerToBall',
  description: '(unit vector car → ball) · v_car / 2300 (RLGym)',
  domain: 'carball',
  kind: 'state',
  params: noParams,
  create: () => (state, slot) => {
    const s = carball(state);
    const car = s.cars[slot]!;
    return dot(unit(sub(s.ball.pos, car.pos)), car.vel) / RLGYM.carMaxSpeed;
  },
};

const speedTowardBall: StateTermDefinition<object> = {
  name: 'speedTowardBall',
  description: 'max(0, (unit vector car → ball) · v_car) / 2300: velocityPlayerToBall without the penalty for driving away (RLGym tutorial SpeedTowardBallReward)',
  domain: 'carball',
  kind: 'state',
  params: noParams,
  create: () => (state, slot) => {
    const s = carball(state);
    const car = s.cars[slot]!;
    return Math.max(0, dot(unit(sub(s.ball.pos, car.pos)), car.vel)) / RLGYM.carMaxSpeed;
  },
};

const ownGoalParams = z.strictObject({ ownGoal: z.boolean().default(false) });
const velocityBallToGoal: StateTermDefinition<z.infer<typeof ownGoalParams>> = {
  name: 'velocityBallToGoal',
  description: '(unit vector ball → opponent goal back) · v_ball / 6000 (RLGym)',
  domain: 'carball',
  kind: 'state',
  params: ownGoalParams,
  create: ({ ownGoal }) => (state, slot) => {
    const s = carball(state);
    const team = s.cars[slot]!.team;
    return ballSpeedTowardGoal(s, ownGoal ? ownGoalBack(team) : opponentGoalBack(team)) / RLGYM.ballMaxSpeed;
  },
};

const faceBall: StateTermDefinition<object> = {
  name: 'faceBall',
  description: 'car forward · (unit vector car → ball) (RLGym)',
  domain: 'carball',
  kind: 'state',
  params: noParams,
  create: () => (state, slot) => {
    const s = carball(state);
    const car = s.cars[slot]!;
    return dot(forwardOf(car.quat), unit(sub(s.ball.pos, car.pos)));
  },
};

const saveBoost: StateTermDefinition<object> = {
  name: 'saveBoost',
  description: '√(boost / 100) (RLGym, boost in [0, 1])',
  domain: 'carball',
  kind: 'state',
  params: noParams,
  create: () => (state, slot) => Math.sqrt(carball(state).cars[slot]!.boost / 100),
};

const alignParams = z.strictObject({ defense: finite().default(1), offense: finite().default(1) });
const alignBallGoal: StateTermDefinition<z.infer<typeof alignParams>> = {
  name: 'alignBallGoal',
  description: 'defense·cos(ball − car, car − own goal back) + offense·cos(ball − car, opponent goal back − car) (RLGym)',
  domain: 'carball',
  kind: 'state',
  params: alignParams,
  create: ({ defense, offense }) => (state, slot) => {
    const s = carball(state);
    const car = s.cars[slot]!;
    const toBall = sub(s.ball.pos, car.pos);
    return defense * cosineSimilarity(toBall, sub(car.pos, ownGoalBack(car.team))) + offense * cosineSimilarity(toBall, sub(opponentGoalBack(car.team), car.pos));
  },
};

const differenceParams = z.strictObject({ offensiveDispersion: positive().default(0.6), defensiveDispersion: positive().default(0.4), density: positive().default(1) });
const ballGoalDistanceDifference: StateTermDefinition<z.infer<typeof differenceParams>> = {
  name: 'ballGoalDistanceDifference',
  description: 'R_off − R_def: the Lucy-SKG shape of the ball to the opponent goal (dispersion 0.6) minus to the own goal (0.4)',
  domain: 'carball',
  kind: 'state',
  params: differenceParams,
  create: ({ offensiveDispersion, defensiveDispersion, density }) => (state, slot) => {
    const s = carball(state);
    const team = s.cars[slot]!.team;
    const off = lucyShape(ballToGoalDistance(s.ball.pos, opponentGoalBack(team)), RLGYM.ballMaxSpeed, offensiveDispersion, density);
    const def = lucyShape(ballToGoalDistance(s.ball.pos, ownGoalBack(team)), RLGYM.ballMaxSpeed, defensiveDispersion, density);
    return off - def;
  },
};

function touched(t: Transition, slot: number): boolean {
  return (t.events[slot]?.touch ?? 0) > 0;
}

const touchParams = z.strictObject({ aerialWeight: finite().min(0).default(0) });
const touchBall: TransitionTermDefinition<z.infer<typeof touchParams>> = {
  name: 'touchBall',
  description: '((z_ball + 91.25) / (2·91.25))^aerialWeight on a step with a touch, else 0 (RLGym; paid once per step)',
  domain: 'carball',
  kind: 'transition',
  params: touchParams,
  create: ({ aerialWeight }) => (t, slot) => (touched(t, slot) ? ((carball(t.next).ball.pos[2] + RLGYM.ballRadius) / (2 * RLGYM.ballRadius)) ** aerialWeight : 0),
};

const touchBallToGoalAcceleration: TransitionTermDefinition<object> = {
  name: 'touchBallToGoalAcceleration',
  description: "Δ(ball speed toward the opponent goal back) / 2300 on a step with a touch, else 0 (Lucy-SKG); each state's speed uses that state's ball → goal direction",
  domain: 'carball',
  kind: 'transition',
  params: noParams,
  create: () => (t, slot) => {
    if (!touched(t, slot)) return 0;
    const next = carball(t.next);
    const goal = opponentGoalBack(next.cars[slot]!.team);
    return (ballSpeedTowardGoal(next, goal) - ballSpeedTowardGoal(carball(t.prev), goal)) / RLGYM.carMaxSpeed;
  },
};

const eventParams = z.strictObject({
  goal: finite().default(0),
  teamGoal: finite().default(0),
  concede: finite().default(0),
  touch: finite().default(0),
  shot: finite().default(0),
  save: finite().default(0),
  demo: finite().default(0),
  demoed: finite().default(0),
  boostPickup: finite().default(0),
});
const event: TransitionTermDefinition<z.infer<typeof eventParams>> = {
  name: 'event',
  description: 'Σ weight_k · count_k over the step\'s events (RLGym EventReward plus demoed; boostPickup counts in tank fractions, 0–1, as RLGym)',
  domain: 'carball',
  kind: 'transition',
  params: eventParams,
  create: (w) => (t, slot) => {
    const e = t.events[slot];
    if (!e) return 0;
    return (
      w.goal * (e.goal ?? 0) +
      w.teamGoal * (e.teamGoal ?? 0) +
      w.concede * (e.concede ?? 0) +
      w.touch * (e.touch ?? 0) +
      w.shot * (e.shot ?? 0) +
      w.save * (e.save ?? 0) +
      w.demo * (e.demo ?? 0) +
      w.demoed * (e.demoed ?? 0) +
      (w.boostPickup * (e.boostPickup ?? 0)) / 100
    );
  },
};

const native: TransitionTermDefinition<object> = {
  name: 'native',
  description: "the env's own reward",
  domain: 'any',
  kind: 'transition',
  params: noParams,
  create: () => (t, slot) => {
    if (t.nativeReward === null) throw new Error("the env's native reward is not known here (offline evaluation or reward distances evaluate rewards on transitions the env did not produce)");
    return t.nativeReward[slot]!;
  },
};

const constantParams = z.strictObject({ value: finite() });
const constant: StateTermDefinition<z.infer<typeof constantParams>> = {
  name: 'constant',
  description: 'the same value every step (a survival bonus or step cost)',
  domain: 'any',
  kind: 'state',
  params: constantParams,
  create: ({ value }) => () => value,
};

const observationParams = z.strictObject({ index: z.number().int().min(0), scale: finite().default(1), power: finite().default(1) });
const observation: StateTermDefinition<z.infer<typeof observationParams>> = {
  name: 'observation',
  description: 'scale · obs[index]^power of the (flat box) observation: for potentials and rewards on non-carball envs',
  domain: 'any',
  kind: 'state',
  params: observationParams,
  create: ({ index, scale, power }) => (state, slot) => {
    const obs = Array.isArray(state) ? (state as unknown[])[slot] : state;
    if (!(obs instanceof Float32Array) && !Array.isArray(obs)) throw new TypeError('the observation term needs flat box observations (wrap dict observations in FlattenObservation)');
    const x = (obs as ArrayLike<number>)[index];
    if (x === undefined) throw new RangeError(`observation index ${index} is outside the observation (length ${(obs as ArrayLike<number>).length})`);
    return scale * x ** power;
  },
};

/** Every term a spec can name, by name. */
export const TERMS: Readonly<Record<string, TermDefinition<never>>> = Object.fromEntries(
  [
    liuDistancePlayerToBall,
    liuDistanceBallToGoal,
    velocityPlayerToBall,
    speedTowardBall,
    velocityBallToGoal,
    faceBall,
    touchBall,
    saveBoost,
    alignBallGoal,
    event,
    ballGoalDistanceDifference,
    touchBallToGoalAcceleration,
    native,
    constant,
    observation,
  ].map((t) => [t.name, t as unknown as TermDefinition<never>]),
);

export const TERM_NAMES: readonly string[] = Object.keys(TERMS);
