/**
 * CarballEnv: the Rocket-League-like car soccer env (`carball-1v1`, `-2v2`, `-3v3`) as a PettingZoo-style
 * parallel multi-agent env. Slots: all of team 0 (blue, `blue-0` …), then team 1 (orange). One step is
 * `actionRepeat` physics ticks (default 8 at 120 Hz, so 15 actions per second).
 *
 * - Observation: RLGym AdvancedObs (obs.ts), mirrored for orange.
 * - Action: per `actionParser` (actions.ts), the 90-row lookup table by default.
 * - Native reward: +1 to every agent of the team that scores, −1 to the other team.
 * - Episode end: a goal (terminated, unless `terminateOnGoal: false`, in which case play restarts from
 *   a kickoff), `timeoutSeconds` of play or `noTouchTimeoutSeconds` without a touch (truncated).
 * - `info.agents[slot].events`: that agent's CarballEvents within the step; `info.score`, `info.tick`.
 * - `getState()` / `setState(state)`: the public carball state in uu (DESIGN.md).
 */
import { randomInt } from 'node:crypto';
import { assertActions, parseResetParams, type MultiAgentEnv, type MultiAgentResetResult, type MultiAgentStepResult, type ResetParams } from '../../env';
import { parseOptions, z } from '../../options';
import { Rng } from '../../rng';
import { box, FLOAT32_MAX, type Space, type SpaceValue } from '../../spaces';
import { actionSpaceOf, CARBALL_ACTION_PARSERS, parseAction, type CarballActionParser } from './actions';
import { advancedObsSize, CARBALL_OBS_BUILDERS, writeCarballObs, type CarballObsBuilder } from './obs';
import type { Rapier } from './rapier';
import { CARBALL, CARBALL_EVENT_NAMES, type CarballEvents, type CarballState } from './state';
import { validateCarballState } from './validate';
import { CarballEpisodeTally } from './metrics';
import { CarballWorld, DEFAULT_SOLVER_ITERATIONS, EV, NUM_CONTROLS, NUM_EVENTS, type CarballWorldSnapshot } from './world';

/** Builds the state of a reset: from the env's RNG, for the match's team size. */
export type CarballStateSetterFn = (rng: Rng, teamSize: number) => CarballState;
export const CARBALL_NAMED_SETTERS = ['kickoff', 'kickoff-like', 'shot', 'random', 'ground'] as const;
export type CarballNamedSetter = (typeof CARBALL_NAMED_SETTERS)[number];
/**
 * A weighted choice among named setters at every reset (RLGym's WeightedSampleSetter), e.g.
 * `{ mixture: [{ setter: 'kickoff', weight: 1 }, { setter: 'ground', weight: 1 }] }`.
 */
export interface CarballSetterMixture {
  mixture: { setter: CarballNamedSetter; weight: number }[];
}
/**
 * `kickoff` (default), `kickoff-like` (each car moved and turned from its kickoff spawn), `shot` (a car
 * of either team behind the ball on the line from the goal it attacks), `random` (ball
 * and cars anywhere, the ball possibly in the air), `ground` (ball and cars anywhere on the floor), a
 * mixture of these, a fixed state, or a function returning one.
 */
export type CarballStateSetter = CarballNamedSetter | CarballSetterMixture | CarballState | CarballStateSetterFn;

const mixtureSchema = z
  .object({
    mixture: z
      .array(z.object({ setter: z.enum(CARBALL_NAMED_SETTERS), weight: z.number().finite().nonnegative() }).strict())
      .min(1)
      .refine((m) => m.some((e) => e.weight > 0), 'needs a positive weight'),
  })
  .strict();
const stateSetterSchema = z.union([
  z.enum(CARBALL_NAMED_SETTERS),
  z.custom<CarballStateSetterFn>((v) => typeof v === 'function', 'expected a function'),
  mixtureSchema,
  z.custom<CarballState>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !('mixture' in v), 'expected a carball state object'),
]);

export const carballOptionsSchema = z
  .object({
    teamSize: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
    actionParser: z.enum(CARBALL_ACTION_PARSERS).default('lookup'),
    /** Physics ticks per env step. */
    actionRepeat: z.number().int().min(1).max(120).default(CARBALL.defaultActionRepeat),
    /** Episode truncation after this much play (0: never). Lucy-SKG: 300 s. */
    timeoutSeconds: z.number().finite().nonnegative().default(300),
    /** Truncation after this long without any touch (0: never). Lucy-SKG: 45 s. */
    noTouchTimeoutSeconds: z.number().finite().nonnegative().default(45),
    /** End the episode on a goal (true) or restart from a kickoff and play on (false). */
    terminateOnGoal: z.boolean().default(true),
    stateSetter: stateSetterSchema.default('kickoff'),
    /** `advanced` (RLGym's AdvancedObs) or `advanced-local` (plus the ball in the car's own frame; obs.ts). */
    obsBuilder: z.enum(CARBALL_OBS_BUILDERS).default('advanced'),
    /** Rapier solver iterations per tick (Rapier's default is 4; see DEFAULT_SOLVER_ITERATIONS). */
    solverIterations: z.number().int().min(1).max(16).default(DEFAULT_SOLVER_ITERATIONS),
    /** Which Rapier build to load (the factory loads it; see rapier.ts). */
    rapier: z.enum(['simd', 'compat']).optional(),
  })
  .strict();

/** The options that set how an episode starts and ends, not what a policy observes or how it acts. */
export const CARBALL_EPISODE_OPTIONS = ['stateSetter', 'noTouchTimeoutSeconds', 'timeoutSeconds', 'terminateOnGoal'] as const;

export type CarballOptions = z.input<typeof carballOptionsSchema>;
export type ParsedCarballOptions = z.output<typeof carballOptionsSchema>;

export const carballResetOptionsSchema = z.object({ stateSetter: stateSetterSchema.optional(), state: z.unknown().optional() }).strict();

export function carballEnvId(teamSize: number): string {
  return `carball-${teamSize}v${teamSize}`;
}

/** The team size of a carball env id (`carball-1v1` → 1, … `carball-3v3` → 3), or null for any other id. */
export function carballTeamSize(envId: string): 1 | 2 | 3 | null {
  const m = /^carball-([123])v\1$/.exec(envId);
  return m ? (Number(m[1]) as 1 | 2 | 3) : null;
}

export function carballAgentNames(teamSize: number): string[] {
  return [...Array.from({ length: teamSize }, (_, i) => `blue-${i}`), ...Array.from({ length: teamSize }, (_, i) => `orange-${i}`)];
}

export function carballObservationSpace(teamSize: number, builder: CarballObsBuilder = 'advanced'): Space {
  return box([advancedObsSize(teamSize, builder)], -FLOAT32_MAX, FLOAT32_MAX);
}

function isMixture(setter: CarballStateSetter): setter is CarballSetterMixture {
  return typeof setter === 'object' && 'mixture' in setter;
}

/** Checks a fixed state given as the setter option when the env is built (the other setters draw states at reset). */
export function validateSetterOption(envId: string, setter: CarballStateSetter, teamSize: number): void {
  if (typeof setter === 'object' && !isMixture(setter)) validateCarballState(envId, setter, teamSize);
}

const NAMED_SETTERS: Record<CarballNamedSetter, (world: CarballWorld, a: number) => void> = {
  kickoff: (w, a) => w.kickoff(a),
  'kickoff-like': (w, a) => w.kickoffLike(a),
  shot: (w, a) => w.shot(a),
  random: (w, a) => w.randomize(a),
  ground: (w, a) => w.randomizeGround(a),
};

/** One draw of a mixture's setter, in proportion to the weights. */
function pickSetter(m: CarballSetterMixture, rng: Rng): CarballNamedSetter {
  const total = m.mixture.reduce((s, e) => s + e.weight, 0);
  let x = rng.uniform(0, total);
  for (const e of m.mixture) {
    if (e.weight > 0 && x < e.weight) return e.setter;
    x -= e.weight;
  }
  return m.mixture.filter((e) => e.weight > 0).at(-1)!.setter;
}

/** Applies a state setter to arena `a` of a world (validating custom states). */
export function applyStateSetter(envId: string, world: CarballWorld, a: number, setter: CarballStateSetter, rng: Rng): void {
  world.rngs[a] = rng;
  world.resetArena(a);
  if (typeof setter === 'string') {
    NAMED_SETTERS[setter](world, a);
    world.tick[a] = 0;
    world.score[2 * a] = 0;
    world.score[2 * a + 1] = 0;
  } else if (isMixture(setter)) {
    applyStateSetter(envId, world, a, pickSetter(setter, rng), rng);
  } else {
    const state = typeof setter === 'function' ? setter(rng, world.teamSize) : setter;
    world.setState(a, validateCarballState(envId, state, world.teamSize));
  }
}

/** The per-agent events of arena `a` as fresh CarballEvents objects. */
export function eventsOf(world: CarballWorld, a: number, c: number): CarballEvents {
  const base = NUM_EVENTS * (a * world.numCars + c);
  const ev = {} as Record<keyof CarballEvents, number>;
  for (let k = 0; k < NUM_EVENTS; k++) ev[CARBALL_EVENT_NAMES[k]!] = world.events[base + k]!;
  return ev as CarballEvents;
}

export interface CarballEnvSnapshot {
  world: CarballWorldSnapshot;
  prevControls: number[];
}

export class CarballEnv implements MultiAgentEnv {
  readonly id: string;
  readonly agents: readonly string[];
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly metadata: { readonly secondsPerStep: number; readonly description: string };
  readonly options: ParsedCarballOptions;
  readonly teamSize: number;
  readonly obsSize: number;
  /** The physics, one arena (exposed for tests and tools; the env owns it). */
  readonly world: CarballWorld;
  private readonly parser: CarballActionParser;
  private readonly prevControls: Float32Array;
  private readonly tally: CarballEpisodeTally;
  private rng: Rng | null = null;
  private started = false;
  private closed = false;

  /** `rapier` is the loaded Rapier module (`await loadRapier()`); `makeEnv` does this for you. */
  constructor(rapier: Rapier, options: CarballOptions = {}) {
    const teamSize = (options as { teamSize?: number }).teamSize ?? 1;
    this.id = carballEnvId(typeof teamSize === 'number' && teamSize >= 1 && teamSize <= 3 ? teamSize : 1);
    this.options = parseOptions(this.id, 'option', carballOptionsSchema, options);
    this.teamSize = this.options.teamSize;
    this.parser = this.options.actionParser;
    this.agents = carballAgentNames(this.teamSize);
    this.observationSpace = carballObservationSpace(this.teamSize, this.options.obsBuilder);
    this.actionSpace = actionSpaceOf(this.parser);
    this.obsSize = advancedObsSize(this.teamSize, this.options.obsBuilder);
    this.metadata = {
      secondsPerStep: this.options.actionRepeat / CARBALL.ticksPerSecond,
      description: `Car soccer ${this.teamSize}v${this.teamSize} on Rapier (Rocket League units, RLGym observations and actions).`,
    };
    validateSetterOption(this.id, this.options.stateSetter, this.teamSize);
    this.world = new CarballWorld(rapier, { numArenas: 1, teamSize: this.teamSize, solverIterations: this.options.solverIterations });
    this.prevControls = new Float32Array(NUM_CONTROLS * this.world.numCars);
    this.tally = new CarballEpisodeTally(this.world.numCars, this.teamSize, this.world.numCars);
  }

  reset(params?: ResetParams): MultiAgentResetResult {
    this.assertOpen();
    const { seed, options } = parseResetParams(this.id, params);
    const resetOptions = parseOptions(this.id, 'reset option', carballResetOptionsSchema, options);
    if (seed !== undefined) this.rng = new Rng(seed);
    else if (this.rng === null) this.rng = new Rng(randomInt(0, 2 ** 48 - 1));
    let setter: CarballStateSetter = resetOptions.stateSetter ?? this.options.stateSetter;
    if (resetOptions.state !== undefined) setter = validateCarballState(this.id, resetOptions.state, this.teamSize);
    // A fresh Rapier world per episode: no contact cache or warm start carries over between episodes.
    this.world.rebuild();
    applyStateSetter(this.id, this.world, 0, setter, this.rng);
    this.prevControls.fill(0);
    this.tally.clear(0);
    this.started = true;
    return { obs: this.observe(), info: { score: [this.world.score[0]!, this.world.score[1]!], tick: this.world.tick[0]! } };
  }

  step(actions: readonly SpaceValue[]): MultiAgentStepResult {
    this.assertOpen();
    assertActions(this.id, this.actionSpace, actions, this.agents.length);
    if (!this.started) throw new Error(`${this.id}: call reset() before step()`);
    const w = this.world;
    for (let i = 0; i < this.agents.length; i++) parseAction(this.parser, actions[i], w.controls, NUM_CONTROLS * i);
    w.clearEvents(0);
    const { terminated, truncated } = runTicks(w, 0, this.options);
    this.prevControls.set(w.controls);
    const reward = this.agents.map((_, c) => goalReward(w, 0, c));
    this.tally.record(w, 0, 0);
    const agents = this.agents.map((_, c) => ({ events: eventsOf(w, 0, c), taskMetrics: this.tally.metrics(c) }));
    return { obs: this.observe(), reward, terminated, truncated, info: { agents, score: [w.score[0]!, w.score[1]!], tick: w.tick[0]! } };
  }

  /** The current state in uu: a fresh JSON-safe object. */
  getState(): CarballState {
    this.assertOpen();
    return this.world.getState(0);
  }

  /**
   * Puts the match into `state`; a missing or non-finite field, an unknown car id or a position outside
   * the arena throws an error naming the field, and leaves the env as it was.
   */
  setState(state: CarballState): void {
    this.assertOpen();
    const valid = validateCarballState(this.id, state, this.teamSize);
    if (!this.started) {
      this.rng ??= new Rng(randomInt(0, 2 ** 48 - 1));
      this.world.rngs[0] = this.rng;
      this.world.resetArena(0);
      this.started = true;
    }
    this.world.frozen[0] = 0;
    this.world.setState(0, valid);
  }

  /** Everything needed to continue this env exactly (see `CarballWorld.snapshot`); JSON-safe. */
  getSnapshot(): CarballEnvSnapshot {
    this.assertOpen();
    if (!this.started || this.rng === null) throw new Error(`${this.id}: nothing to snapshot before reset()`);
    return { world: this.world.snapshot(), prevControls: Array.from(this.prevControls) };
  }

  /** Continues from a `getSnapshot()` of an env with the same options. */
  setSnapshot(snapshot: unknown): void {
    this.assertOpen();
    const s = snapshot as CarballEnvSnapshot;
    if (!s || typeof s !== 'object' || !Array.isArray(s.prevControls) || s.prevControls.length !== this.prevControls.length) {
      throw new TypeError(`${this.id}: setSnapshot expects a snapshot from getSnapshot() of a ${this.teamSize}v${this.teamSize} env`);
    }
    this.world.restore(s.world);
    this.prevControls.set(s.prevControls);
    this.rng = this.world.rngs[0]!;
    this.started = true;
  }

  /** The observations of the current state (fresh arrays), e.g. after `setState`. */
  observe(): Float32Array[] {
    return this.agents.map((_, c) => {
      const out = new Float32Array(this.obsSize);
      writeCarballObs(this.options.obsBuilder, this.world, 0, c, this.prevControls, NUM_CONTROLS * c, out, 0);
      return out;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.world.free();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.id}: the env is closed`);
  }
}

/** Which terminal conditions a step of ticks checks. */
export interface EpisodeRules {
  actionRepeat: number;
  timeoutSeconds: number;
  noTouchTimeoutSeconds: number;
  terminateOnGoal: boolean;
}

/**
 * Runs one env step of arena `a` in a single-arena world: `actionRepeat` ticks, stopping early on an
 * episode end. After a goal with `terminateOnGoal: false`, play restarts from a kickoff.
 */
export function runTicks(w: CarballWorld, a: number, rules: EpisodeRules): { terminated: boolean; truncated: boolean } {
  let terminated = false;
  let truncated = false;
  for (let k = 0; k < rules.actionRepeat; k++) {
    w.step();
    const end = afterTick(w, a, rules);
    if (end === 1) terminated = true;
    else if (end === 2) truncated = true;
    if (end) break;
  }
  return { terminated, truncated };
}

/** Episode bookkeeping after a tick: 0 play on, 1 terminated (goal), 2 truncated (a timeout). Freezes the arena on an end. */
export function afterTick(w: CarballWorld, a: number, rules: EpisodeRules): 0 | 1 | 2 {
  if (w.frozen[a]) return 0;
  if (w.goalScoredBy[a]! >= 0) {
    if (rules.terminateOnGoal) {
      w.frozen[a] = 1;
      return 1;
    }
    w.kickoff(a);
    w.lastTouch[a] = -1;
    w.ticksSinceTouch[a] = 0;
  }
  const tps = CARBALL.ticksPerSecond;
  if ((rules.timeoutSeconds > 0 && w.tick[a]! >= rules.timeoutSeconds * tps) || (rules.noTouchTimeoutSeconds > 0 && w.ticksSinceTouch[a]! >= rules.noTouchTimeoutSeconds * tps)) {
    w.frozen[a] = 1;
    return 2;
  }
  return 0;
}

/** Native reward of car `c`: goals of its team minus goals of the other team within the step. */
export function goalReward(w: CarballWorld, a: number, c: number): number {
  const base = NUM_EVENTS * (a * w.numCars + c);
  return w.events[base + EV.teamGoal]! - w.events[base + EV.concede]!;
}

