/**
 * CarballWorld: one Rapier world holding `numArenas` carball arenas side by side, stepped together at
 * 120 Hz. Batching arenas into one world amortises Rapier's per-step cost (measured on this 2-core
 * machine, SIMD build, 2v2: ~40–49k ticks/s for one arena per world, ~63–75k arena-ticks/s for 16
 * arenas in one world), so the vector env runs many arenas in one world and the single env is the same
 * code with one arena.
 *
 * The lean car model (DESIGN: "few colliders, cheap car model"): each car is one dynamic box (the
 * Octane hitbox) with no friction or restitution, and the game's drive, steer, boost, jump, flip and
 * air-control curves (REFERENCES.md §1) are applied in JS as velocity changes before each Rapier step;
 * a grounded car's origin is held at rest height (standing in for the suspension), so its hitbox floats
 * 18.4 uu above the floor as in the game. Rapier resolves contacts (car–ball, car–car, car–arena,
 * ball–arena). Touches, boost pads and goals are detected geometrically in JS; demolitions and bumps are
 * decided in JS on contacts that Rapier confirms. Not modelled: driving on walls and the ceiling (cars
 * drive on the floor only), wheels and suspension dynamics, car–ball friction, supersonic hysteresis,
 * the ground-boost decay above 600 uu/s and the flip's pitch lock.
 *
 * State lives in flat typed arrays (struct of arrays, arena-local public uu), refreshed from Rapier
 * after every tick. Nothing on the tick path allocates: Rapier fills reused read targets, and velocity
 * writes go through one reused wasm vector.
 */
import type * as RapierTypes from '@dimforge/rapier3d-compat';
import { Rng, type RngState } from '../../rng';
import { arenaBoxes, BOOST_PADS, CAR_MODEL, evalCurve, KICKOFF_SPAWNS, PAD_HEIGHT_UU, PAD_RADIUS_UU, RESPAWN_SPAWNS } from './arena';
import type { Rapier } from './rapier';
import { CARBALL, CARBALL_EVENT_NAMES, GOAL_LINE_Y, type CarballState, type CarState } from './state';

export const NUM_EVENTS = CARBALL_EVENT_NAMES.length;
/** Offsets of each event in a car's row of `CarballWorld.events`. */
export const EV = { goal: 0, teamGoal: 1, concede: 2, touch: 3, shot: 4, save: 5, demo: 6, demoed: 7, boostPickup: 8 } as const;

/** Controls of one car: throttle, steer, pitch, yaw, roll ∈ [−1, 1]; jump, boost, handbrake ∈ {0, 1}. */
export const NUM_CONTROLS = 8;

const DT = 1 / CARBALL.ticksPerSecond;
/** Ticks a touch may wait for its contact to be resolved before the extra hit impulse is applied anyway. */
const HIT_WAIT_TICKS = 3;
const NUM_PADS = BOOST_PADS.length;
/** Spacing between arena origins (uu): arena plus thick walls plus a margin. */
const ARENA_SPACING_X = 2 * (CARBALL.arena.sideWallX + 1200);
const ARENA_SPACING_Y = 2 * (CARBALL.goal.netBackY + 1200);
// Boost pads as flat arrays for the per-tick pickup test.
const PAD_X = Float64Array.from(BOOST_PADS, (p) => p.x);
const PAD_Y = Float64Array.from(BOOST_PADS, (p) => p.y);
const PAD_R2 = Float64Array.from(BOOST_PADS, (p) => (p.big ? PAD_RADIUS_UU.big : PAD_RADIUS_UU.small) ** 2);
const PAD_TOP_Z = Float64Array.from(BOOST_PADS, (p) => p.z + PAD_HEIGHT_UU);
const PAD_MAX_Z = Math.max(...PAD_TOP_Z);
export interface CarballWorldSnapshot {
  numArenas: number;
  teamSize: number;
  /** Rapier's `World.takeSnapshot()`, base64. */
  rapier: string;
  ballBodies: number[];
  carBodies: number[];
  carColliders: number[];
  arrays: Record<string, number[]>;
  rngs: RngState[];
}

function isTypedArray(v: unknown): v is Float64Array | Float32Array | Uint8Array | Int8Array | Int32Array {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

interface RawVectorLike {
  x: number;
  y: number;
  z: number;
  free(): void;
}
interface RawBodySetLike {
  rbSetLinvel(handle: number, v: RawVectorLike, wakeUp: boolean): void;
  rbSetAngvel(handle: number, v: RawVectorLike, wakeUp: boolean): void;
}

/** Boost that cars spawn with (RLGym's default state gives 0.33 of the tank). */
export const SPAWN_BOOST = 100 / 3;

export interface CarballWorldOptions {
  numArenas: number;
  teamSize: number;
  /** Rapier solver iterations per tick (see DEFAULT_SOLVER_ITERATIONS). */
  solverIterations?: number;
}

/**
 * Rapier's default is 4. With only a handful of simple contacts per arena (no stacks, no joints), 1 gives
 * the same bounces and hits to within 0.5 % (ball drop apex 371.1 vs 372.8 uu, car-on-ball launch speed
 * 2019 vs 2020 uu/s) and ~10–15 % more ticks per second.
 */
export const DEFAULT_SOLVER_ITERATIONS = 1;

export class CarballWorld {
  readonly numArenas: number;
  readonly teamSize: number;
  /** Cars per arena: all of team 0 (blue), then all of team 1 (orange). */
  readonly numCars: number;
  readonly solverIterations: number;
  private world: RapierTypes.World | null = null;
  private ballBodies: RapierTypes.RigidBody[] = [];
  private carBodies: RapierTypes.RigidBody[] = [];
  private carColliders: RapierTypes.Collider[] = [];
  private readonly arenaOffsetX: Float64Array;
  private readonly arenaOffsetY: Float64Array;

  // --- ball, per arena (×3) ---
  readonly ballPos: Float64Array;
  readonly ballVel: Float64Array;
  readonly ballAngVel: Float64Array;
  private readonly ballPrevPos: Float64Array;
  private readonly ballPrevVel: Float64Array;

  // --- cars, per global car g = arena · numCars + car ---
  readonly carPos: Float64Array;
  readonly carVel: Float64Array;
  readonly carAngVel: Float64Array;
  readonly carQuat: Float64Array;
  readonly carBoost: Float64Array;
  readonly carOnGround: Uint8Array;
  readonly carDemolished: Uint8Array;
  readonly carSupersonic: Uint8Array;
  readonly carHasFlip: Uint8Array;
  private readonly respawnTimer: Float64Array;
  private readonly isJumping: Uint8Array;
  private readonly jumpTime: Float64Array;
  private readonly hasJumped: Uint8Array;
  private readonly hasDoubleJumped: Uint8Array;
  private readonly hasFlipped: Uint8Array;
  private readonly airTimeSinceJump: Float64Array;
  private readonly flipTime: Float64Array;
  private readonly flipForward: Float64Array;
  private readonly flipRight: Float64Array;
  private readonly prevJump: Uint8Array;
  private readonly powerslide: Float64Array;
  private readonly boostTime: Float64Array;
  private readonly touchingBall: Uint8Array;
  /** Car pairs in contact on the previous tick, numCars² per arena. */
  private readonly carPairContact: Uint8Array;
  /** Ticks a bumped car is treated as airborne. */
  private readonly airborneTicks: Uint8Array;
  private readonly hitPendingTicks: Uint8Array;
  private readonly hitRelSpeed: Float64Array;
  private readonly wasOnOwnGoal: Uint8Array;
  private readonly wasOnTheirGoal: Uint8Array;
  /** Supersonic flag and velocity before the current tick's Rapier step (a collision slows the car within it). */
  private readonly supersonicBefore: Uint8Array;
  private readonly velBefore: Float64Array;
  /** Current controls, NUM_CONTROLS per car. */
  readonly controls: Float32Array;
  /** Event counts since the last `clearEvents`, NUM_EVENTS per car (order of CARBALL_EVENT_NAMES). */
  readonly events: Float64Array;

  // --- per arena ---
  readonly tick: Float64Array;
  readonly score: Int32Array;
  /** Arena-local index of the car that touched the ball last, −1 if none. */
  readonly lastTouch: Int32Array;
  readonly ticksSinceTouch: Float64Array;
  /** Seconds until each pad is available again (0: available), NUM_PADS per arena. */
  readonly padTimer: Float64Array;
  /** Team that scored during the last tick (−1: none). */
  readonly goalScoredBy: Int8Array;
  /** Arenas whose match logic (goals, touches, events) is paused; physics still steps. */
  readonly frozen: Uint8Array;
  rngs: Rng[];

  private readonly v3 = { x: 0, y: 0, z: 0 };
  private readonly q4 = { x: 0, y: 0, z: 0, w: 1 };
  // Read targets: Rapier fills these instead of allocating a vector per read.
  private readonly rp = { x: 0, y: 0, z: 0 };
  private readonly rv = { x: 0, y: 0, z: 0 };
  private readonly rw = { x: 0, y: 0, z: 0 };
  private readonly rq = { x: 0, y: 0, z: 0, w: 1 };
  /**
   * One reusable wasm-side vector for velocity writes. Rapier's `setLinvel`/`setAngvel` build and free a
   * wasm vector on every call (a finalization-registry round trip each, ~10% of a tick in profiles); its
   * raw rigid-body set takes any raw vector, so we keep one and overwrite it. Falls back to the public
   * setters if the bindings' internals ever change shape.
   */
  private rawVec: RawVectorLike | null = null;

  constructor(
    private readonly rapier: Rapier,
    options: CarballWorldOptions,
  ) {
    const { numArenas, teamSize } = options;
    if (!Number.isInteger(numArenas) || numArenas < 1) throw new RangeError(`CarballWorld: numArenas must be a positive integer, got ${numArenas}`);
    if (!Number.isInteger(teamSize) || teamSize < 1 || teamSize > 3) throw new RangeError(`CarballWorld: teamSize must be 1, 2 or 3, got ${teamSize}`);
    this.numArenas = numArenas;
    this.teamSize = teamSize;
    this.numCars = 2 * teamSize;
    this.solverIterations = options.solverIterations ?? DEFAULT_SOLVER_ITERATIONS;
    if (!Number.isInteger(this.solverIterations) || this.solverIterations < 1) throw new RangeError(`CarballWorld: solverIterations must be a positive integer, got ${this.solverIterations}`);
    const nc = numArenas * this.numCars;
    const f = (n: number): Float64Array => new Float64Array(n);
    this.ballPos = f(3 * numArenas);
    this.ballVel = f(3 * numArenas);
    this.ballAngVel = f(3 * numArenas);
    this.ballPrevPos = f(3 * numArenas);
    this.ballPrevVel = f(3 * numArenas);
    this.carPos = f(3 * nc);
    this.carVel = f(3 * nc);
    this.carAngVel = f(3 * nc);
    this.carQuat = f(4 * nc);
    this.carBoost = f(nc);
    this.carOnGround = new Uint8Array(nc);
    this.carDemolished = new Uint8Array(nc);
    this.carSupersonic = new Uint8Array(nc);
    this.carHasFlip = new Uint8Array(nc);
    this.respawnTimer = f(nc);
    this.isJumping = new Uint8Array(nc);
    this.jumpTime = f(nc);
    this.hasJumped = new Uint8Array(nc);
    this.hasDoubleJumped = new Uint8Array(nc);
    this.hasFlipped = new Uint8Array(nc);
    this.airTimeSinceJump = f(nc);
    this.flipTime = f(nc);
    this.flipForward = f(nc);
    this.flipRight = f(nc);
    this.prevJump = new Uint8Array(nc);
    this.powerslide = f(nc);
    this.boostTime = f(nc);
    this.touchingBall = new Uint8Array(nc);
    this.carPairContact = new Uint8Array(numArenas * this.numCars * this.numCars);
    this.airborneTicks = new Uint8Array(nc);
    this.hitPendingTicks = new Uint8Array(nc);
    this.hitRelSpeed = f(nc);
    this.wasOnOwnGoal = new Uint8Array(nc);
    this.wasOnTheirGoal = new Uint8Array(nc);
    this.supersonicBefore = new Uint8Array(nc);
    this.velBefore = f(3 * nc);
    this.controls = new Float32Array(NUM_CONTROLS * nc);
    this.events = f(NUM_EVENTS * nc);
    this.tick = f(numArenas);
    this.score = new Int32Array(2 * numArenas);
    this.lastTouch = new Int32Array(numArenas).fill(-1);
    this.ticksSinceTouch = f(numArenas);
    this.padTimer = f(NUM_PADS * numArenas);
    this.goalScoredBy = new Int8Array(numArenas).fill(-1);
    this.frozen = new Uint8Array(numArenas);
    this.rngs = Array.from({ length: numArenas }, (_, i) => new Rng(i));
    // Arenas on a near-square grid around the origin keep coordinates (float32 in Rapier) small.
    const cols = Math.ceil(Math.sqrt(numArenas));
    this.arenaOffsetX = f(numArenas);
    this.arenaOffsetY = f(numArenas);
    for (let a = 0; a < numArenas; a++) {
      this.arenaOffsetX[a] = (a % cols) * ARENA_SPACING_X;
      this.arenaOffsetY[a] = Math.floor(a / cols) * ARENA_SPACING_Y;
    }
    this.rebuild();
  }

  /**
   * Builds a fresh Rapier world (arena colliders, balls, cars). Called on construction and on a seeded
   * reset, so that no contact cache or solver warm start from an earlier episode leaks into the next:
   * that is what makes `reset({ seed })` reproduce a trajectory bit for bit.
   */
  rebuild(): void {
    const R = this.rapier;
    this.world?.free();
    this.rawVec?.free();
    this.rawVec = null;
    const world = new R.World({ x: 0, y: 0, z: CARBALL.gravityZ });
    world.timestep = DT;
    world.lengthUnit = 100; // uu are centimetres
    world.numSolverIterations = this.solverIterations;
    this.world = world;
    const boxes = arenaBoxes();
    // Floor and ceiling: one half-space each, shared by all arenas.
    world.createCollider(new R.ColliderDesc(new R.HalfSpace({ x: 0, y: 0, z: 1 })).setRestitution(CARBALL.ball.restitution).setFriction(CARBALL.ball.friction));
    world.createCollider(new R.ColliderDesc(new R.HalfSpace({ x: 0, y: 0, z: -1 })).setTranslation(0, 0, CARBALL.arena.ceilingZ).setRestitution(CARBALL.ball.restitution).setFriction(CARBALL.ball.friction));
    const { ball, car } = CARBALL;
    this.ballBodies = [];
    this.carBodies = [];
    this.carColliders = [];
    for (let a = 0; a < this.numArenas; a++) {
      const ox = this.arenaOffsetX[a]!, oy = this.arenaOffsetY[a]!;
      for (const b of boxes) {
        const desc = R.ColliderDesc.cuboid(b.h[0], b.h[1], b.h[2])
          .setTranslation(b.c[0] + ox, b.c[1] + oy, b.c[2])
          .setRotation({ x: 0, y: 0, z: Math.sin(b.yaw / 2), w: Math.cos(b.yaw / 2) })
          .setRestitution(CARBALL.ball.restitution)
          .setFriction(CARBALL.ball.friction);
        world.createCollider(desc);
      }
      const ballBody = world.createRigidBody(
        R.RigidBodyDesc.dynamic()
          .setTranslation(ox, oy, ball.restHeight)
          .setLinearDamping(ball.linearDrag)
          .setCanSleep(false),
      );
      world.createCollider(R.ColliderDesc.ball(ball.radius).setMass(ball.mass).setRestitution(ball.restitution).setFriction(ball.friction), ballBody);
      this.ballBodies.push(ballBody);
      for (let c = 0; c < this.numCars; c++) {
        const body = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(ox, oy, car.restHeight).setCanSleep(false));
        const [hx, hy, hz] = car.hitbox;
        const [dx, dy, dz] = CAR_MODEL.hitboxOffset;
        const collider = world.createCollider(
          R.ColliderDesc.cuboid(hx / 2, hy / 2, hz / 2)
            .setTranslation(dx, dy, dz)
            .setMass(car.mass)
            .setFriction(0)
            .setRestitution(0)
            .setFrictionCombineRule(R.CoefficientCombineRule.Min)
            .setRestitutionCombineRule(R.CoefficientCombineRule.Min),
          body,
        );
        this.carBodies.push(body);
        this.carColliders.push(collider);
      }
    }
    const rawSet = (this.ballBodies[0] as unknown as { rawSet?: Partial<RawBodySetLike> }).rawSet;
    if (typeof rawSet?.rbSetLinvel === 'function' && typeof rawSet.rbSetAngvel === 'function' && typeof R.VectorOps?.intoRaw === 'function') {
      this.rawVec = R.VectorOps.intoRaw({ x: 0, y: 0, z: 0 }) as unknown as RawVectorLike;
    }
  }

  private setLinvel(body: RapierTypes.RigidBody, x: number, y: number, z: number): void {
    const raw = this.rawVec;
    if (raw === null) {
      body.setLinvel(this.vec(x, y, z), true);
      return;
    }
    raw.x = x;
    raw.y = y;
    raw.z = z;
    (body as unknown as { rawSet: RawBodySetLike }).rawSet.rbSetLinvel(body.handle, raw, true);
  }

  private setAngvel(body: RapierTypes.RigidBody, x: number, y: number, z: number): void {
    const raw = this.rawVec;
    if (raw === null) {
      body.setAngvel(this.vec(x, y, z), true);
      return;
    }
    raw.x = x;
    raw.y = y;
    raw.z = z;
    (body as unknown as { rawSet: RawBodySetLike }).rawSet.rbSetAngvel(body.handle, raw, true);
  }

  /**
   * The complete simulation state, JSON-safe: Rapier's own world snapshot (bodies, contacts, solver
   * caches: continuing from it is bit-identical), every typed array of this class, and the arenas' RNGs.
   */
  snapshot(): CarballWorldSnapshot {
    const arrays: Record<string, number[]> = {};
    for (const [name, value] of Object.entries(this)) if (isTypedArray(value)) arrays[name] = Array.from(value);
    return {
      numArenas: this.numArenas,
      teamSize: this.teamSize,
      rapier: Buffer.from(this.world!.takeSnapshot()).toString('base64'),
      ballBodies: this.ballBodies.map((b) => b.handle),
      carBodies: this.carBodies.map((b) => b.handle),
      carColliders: this.carColliders.map((c) => c.handle),
      arrays,
      rngs: this.rngs.map((r) => r.getState()),
    };
  }

  /** Restores a `snapshot()` of a world with the same arenas and team size. */
  restore(snapshot: CarballWorldSnapshot): void {
    const s = snapshot;
    if (!s || s.numArenas !== this.numArenas || s.teamSize !== this.teamSize || typeof s.rapier !== 'string' || typeof s.arrays !== 'object') {
      throw new TypeError(`CarballWorld.restore: expected a snapshot of ${this.numArenas} arenas of ${this.teamSize}v${this.teamSize}`);
    }
    for (const [name, value] of Object.entries(this)) {
      if (!isTypedArray(value)) continue;
      const saved = s.arrays[name];
      if (!Array.isArray(saved) || saved.length !== value.length) throw new TypeError(`CarballWorld.restore: snapshot array ${name} is missing or has the wrong length`);
    }
    const world = this.rapier.World.restoreSnapshot(Uint8Array.from(Buffer.from(s.rapier, 'base64')));
    if (!world) throw new TypeError('CarballWorld.restore: Rapier could not read the world snapshot');
    this.world?.free();
    this.rawVec?.free();
    this.world = world;
    this.ballBodies = s.ballBodies.map((h) => world.getRigidBody(h));
    this.carBodies = s.carBodies.map((h) => world.getRigidBody(h));
    this.carColliders = s.carColliders.map((h) => world.getCollider(h));
    this.rawVec = this.rapier.VectorOps.intoRaw({ x: 0, y: 0, z: 0 }) as unknown as RawVectorLike;
    for (const [name, value] of Object.entries(this)) if (isTypedArray(value)) value.set(s.arrays[name]!);
    this.rngs = s.rngs.map((r) => Rng.fromState(r));
  }

  free(): void {
    this.rawVec?.free();
    this.rawVec = null;
    this.world?.free();
    this.world = null;
  }

  // ---------------------------------------------------------------------------------------------
  // State in and out
  // ---------------------------------------------------------------------------------------------

  /** The public state of one arena: a fresh JSON-safe object (uu). */
  getState(a: number): CarballState {
    const cars: CarState[] = [];
    for (let c = 0; c < this.numCars; c++) {
      const g = a * this.numCars + c;
      cars.push({
        id: c,
        team: c < this.teamSize ? 0 : 1,
        pos: [this.carPos[3 * g]!, this.carPos[3 * g + 1]!, this.carPos[3 * g + 2]!],
        vel: [this.carVel[3 * g]!, this.carVel[3 * g + 1]!, this.carVel[3 * g + 2]!],
        angVel: [this.carAngVel[3 * g]!, this.carAngVel[3 * g + 1]!, this.carAngVel[3 * g + 2]!],
        quat: [this.carQuat[4 * g]!, this.carQuat[4 * g + 1]!, this.carQuat[4 * g + 2]!, this.carQuat[4 * g + 3]!],
        boost: this.carBoost[g]!,
        onGround: this.carOnGround[g] === 1,
        demolished: this.carDemolished[g] === 1,
        supersonic: this.carSupersonic[g] === 1,
        hasFlip: this.carHasFlip[g] === 1,
        boosting: this.boostTime[g]! > 0,
      });
    }
    return {
      tick: this.tick[a]!,
      score: [this.score[2 * a]!, this.score[2 * a + 1]!],
      ball: {
        pos: [this.ballPos[3 * a]!, this.ballPos[3 * a + 1]!, this.ballPos[3 * a + 2]!],
        vel: [this.ballVel[3 * a]!, this.ballVel[3 * a + 1]!, this.ballVel[3 * a + 2]!],
        angVel: [this.ballAngVel[3 * a]!, this.ballAngVel[3 * a + 1]!, this.ballAngVel[3 * a + 2]!],
      },
      cars,
      boostPads: Array.from(this.padTimer.subarray(a * NUM_PADS, (a + 1) * NUM_PADS)),
    };
  }

  /**
   * Puts an arena into `state` (already validated: see `validateCarballState`). Jump, flip and
   * powerslide state restart as for a car that just landed; pads, touches and events are left alone
   * (`resetArena` clears them).
   */
  setState(a: number, state: CarballState): void {
    this.tick[a] = state.tick;
    this.score[2 * a] = state.score[0];
    this.score[2 * a + 1] = state.score[1];
    const b = state.ball;
    this.placeBall(a, b.pos[0], b.pos[1], b.pos[2], b.vel[0], b.vel[1], b.vel[2], b.angVel[0], b.angVel[1], b.angVel[2]);
    for (const car of state.cars) {
      const g = a * this.numCars + car.id;
      this.placeCar(g, car.pos, car.vel, car.angVel, car.quat);
      this.carBoost[g] = car.boost;
      this.setDemolished(g, car.demolished);
      if (car.demolished) this.respawnTimer[g] = CARBALL.demoRespawnSeconds;
    }
    for (let c = 0; c < this.numCars; c++) this.refreshCarFlags(a * this.numCars + c);
  }

  /** Clears an arena's match bookkeeping: pads available, no touch, no events, unfrozen. */
  resetArena(a: number): void {
    this.padTimer.fill(0, a * NUM_PADS, (a + 1) * NUM_PADS);
    this.lastTouch[a] = -1;
    this.ticksSinceTouch[a] = 0;
    this.goalScoredBy[a] = -1;
    this.frozen[a] = 0;
    const g0 = a * this.numCars;
    this.events.fill(0, g0 * NUM_EVENTS, (g0 + this.numCars) * NUM_EVENTS);
    this.controls.fill(0, g0 * NUM_CONTROLS, (g0 + this.numCars) * NUM_CONTROLS);
  }

  /**
   * Kickoff (RLGym's default state): `teamSize` distinct spawns drawn from the five kickoff spots for
   * blue, their point mirrors for orange, the ball at rest on the centre spot, every car with 33 boost.
   */
  kickoff(a: number): void {
    const rng = this.rngs[a]!;
    const order = rng.shuffle([0, 1, 2, 3, 4]);
    this.placeBall(a, 0, 0, CARBALL.ball.restHeight, 0, 0, 0, 0, 0, 0);
    for (let i = 0; i < this.teamSize; i++) {
      const [x, y, yaw] = KICKOFF_SPAWNS[order[i]!]!;
      this.spawnCar(a * this.numCars + i, x, y, yaw);
      this.spawnCar(a * this.numCars + this.teamSize + i, -x, -y, yaw + Math.PI);
    }
  }

  /**
   * A kickoff-like state (rlgym-tools' KickoffLikeSetter in spirit): the kickoff layout with the ball at
   * rest in the centre, each car moved up to 600 uu along x and y from its spawn and turned by up to
   * 0.5 rad, so that reaching the ball takes steering rather than a memorised straight line.
   */
  kickoffLike(a: number): void {
    this.kickoff(a);
    const rng = this.rngs[a]!;
    for (let c = 0; c < this.numCars; c++) {
      const g = a * this.numCars + c;
      const x = this.carPos[3 * g]! + rng.uniform(-600, 600);
      // kept in front of the goal lines (the back spawns are 512 uu from them)
      const y = Math.max(-4800, Math.min(4800, this.carPos[3 * g + 1]! + rng.uniform(-600, 600)));
      const yaw = 2 * Math.atan2(this.carQuat[4 * g + 2]!, this.carQuat[4 * g + 3]!) + rng.uniform(-0.5, 0.5);
      this.spawnCar(g, x, y, yaw);
    }
  }

  /**
   * A shot on goal: the ball at rest in the attacking half or just short of it, one car of a team drawn
   * at random 600–3000 uu behind the ball on the line from its target goal (±0.6 rad) and facing the
   * ball (±0.4 rad), every other car anywhere on the floor. Goals, the events that pay most in
   * Lucy-SKG's reward, come within reach of a policy that drives into the ball.
   */
  shot(a: number): void {
    const rng = this.rngs[a]!;
    const u = (lo: number, hi: number): number => rng.uniform(lo, hi);
    const team = rng.integer(2);
    // drawn in the attacking team's frame (attacking +y), then turned 180° about z for team 1
    const m = team === 0 ? 1 : -1;
    const bx = u(-2500, 2500);
    const by = u(-1000, 3500);
    const toGoal = Math.atan2(GOAL_LINE_Y - by, 0 - bx);
    const back = toGoal + Math.PI + u(-0.6, 0.6);
    const d = u(600, 3000);
    const cx = Math.max(-3800, Math.min(3800, bx + d * Math.cos(back)));
    const cy = Math.max(-4800, Math.min(4800, by + d * Math.sin(back)));
    const yaw = Math.atan2(by - cy, bx - cx) + u(-0.4, 0.4);
    const speed = u(0, 1000);
    this.placeBall(a, m * bx, m * by, CARBALL.ball.restHeight, 0, 0, 0, 0, 0, 0);
    const shooter = a * this.numCars + team * this.teamSize;
    this.spawnCar(shooter, m * cx, m * cy, team === 0 ? yaw : yaw + Math.PI, speed, u(0, 100));
    for (let c = 0; c < this.numCars; c++) {
      const g = a * this.numCars + c;
      if (g === shooter) continue;
      const [x, y] = this.floorSpot(rng, [[m * bx, m * by, 500], [m * cx, m * cy, 300]]);
      this.spawnCar(g, x, y, u(-Math.PI, Math.PI), 0, u(0, 100));
    }
  }

  /** A random state (RLGym's RandomState in spirit): ball and cars anywhere on the field, moving. */
  randomize(a: number): void {
    const rng = this.rngs[a]!;
    const u = (lo: number, hi: number): number => rng.uniform(lo, hi);
    this.placeBall(a, u(-3000, 3000), u(-4000, 4000), u(CARBALL.ball.restHeight, 1500), u(-1500, 1500), u(-1500, 1500), u(-500, 500), u(-3, 3), u(-3, 3), u(-3, 3));
    for (let c = 0; c < this.numCars; c++) {
      const g = a * this.numCars + c;
      const yaw = u(-Math.PI, Math.PI);
      const speed = u(0, 1500);
      this.spawnCar(g, u(-3500, 3500), u(-4200, 4200), yaw, speed, u(0, 100));
    }
  }

  /**
   * A random ground state: the ball resting or rolling on the floor and every car on its wheels, each
   * anywhere on the field with any heading and speed (the ball within reach of a grounded car, unlike
   * `randomize`'s, which may be in the air).
   */
  randomizeGround(a: number): void {
    const rng = this.rngs[a]!;
    const u = (lo: number, hi: number): number => rng.uniform(lo, hi);
    const bx = u(-3000, 3000);
    const by = u(-4000, 4000);
    this.placeBall(a, bx, by, CARBALL.ball.restHeight, u(-500, 500), u(-500, 500), 0, 0, 0, 0);
    for (let c = 0; c < this.numCars; c++) {
      // Not on top of the ball: at least 500 uu between their centres (a car's half-length plus the ball's radius).
      const [x, y] = this.floorSpot(rng, [[bx, by, 500]]);
      const yaw = u(-Math.PI, Math.PI);
      const speed = u(0, 1500);
      this.spawnCar(a * this.numCars + c, x, y, yaw, speed, u(0, 100));
    }
  }

  /** A car on its wheels at (x, y) heading `yaw`, driving forward at `speed`, with `boost`. */
  private spawnCar(g: number, x: number, y: number, yaw: number, speed = 0, boost = SPAWN_BOOST): void {
    // at rest: exact zeros (speed · sin(yaw) would be −0 for half the headings)
    const vel = speed === 0 ? [0, 0, 0] : [speed * Math.cos(yaw), speed * Math.sin(yaw), 0];
    this.placeCar(g, [x, y, CARBALL.car.restHeight], vel, [0, 0, 0], yawQuat(yaw));
    this.carBoost[g] = boost;
    this.setDemolished(g, false);
    this.refreshCarFlags(g);
  }

  /** A uniform spot on the floor at least r uu from each (x, y, r) of `clear` (ball, other cars). */
  private floorSpot(rng: Rng, clear: readonly (readonly [number, number, number])[]): [number, number] {
    let x = 0;
    let y = 0;
    do {
      x = rng.uniform(-3500, 3500);
      y = rng.uniform(-4200, 4200);
    } while (clear.some(([cx, cy, r]) => Math.hypot(x - cx, y - cy) < r));
    return [x, y];
  }

  private placeBall(a: number, x: number, y: number, z: number, vx: number, vy: number, vz: number, wx: number, wy: number, wz: number): void {
    const body = this.ballBodies[a]!;
    set3(this.ballPos, a, x, y, z);
    set3(this.ballVel, a, vx, vy, vz);
    set3(this.ballAngVel, a, wx, wy, wz);
    set3(this.ballPrevPos, a, x, y, z);
    set3(this.ballPrevVel, a, vx, vy, vz);
    body.setTranslation(this.vec(x + this.arenaOffsetX[a]!, y + this.arenaOffsetY[a]!, z), true);
    this.setLinvel(body, vx, vy, vz);
    this.setAngvel(body, wx, wy, wz);
  }

  private placeCar(g: number, pos: readonly number[], vel: readonly number[], angVel: readonly number[], quat: readonly number[]): void {
    const a = Math.floor(g / this.numCars);
    const body = this.carBodies[g]!;
    const n = Math.hypot(quat[0]!, quat[1]!, quat[2]!, quat[3]!);
    set3(this.carPos, g, pos[0]!, pos[1]!, pos[2]!);
    set3(this.carVel, g, vel[0]!, vel[1]!, vel[2]!);
    set3(this.carAngVel, g, angVel[0]!, angVel[1]!, angVel[2]!);
    for (let k = 0; k < 4; k++) this.carQuat[4 * g + k] = quat[k]! / n;
    body.setTranslation(this.vec(pos[0]! + this.arenaOffsetX[a]!, pos[1]! + this.arenaOffsetY[a]!, pos[2]!), true);
    this.q4.x = this.carQuat[4 * g]!;
    this.q4.y = this.carQuat[4 * g + 1]!;
    this.q4.z = this.carQuat[4 * g + 2]!;
    this.q4.w = this.carQuat[4 * g + 3]!;
    body.setRotation(this.q4, true);
    this.setLinvel(body, vel[0]!, vel[1]!, vel[2]!);
    this.setAngvel(body, angVel[0]!, angVel[1]!, angVel[2]!);
    this.isJumping[g] = 0;
    this.jumpTime[g] = 0;
    this.hasJumped[g] = 0;
    this.hasDoubleJumped[g] = 0;
    this.hasFlipped[g] = 0;
    this.airTimeSinceJump[g] = 0;
    this.flipTime[g] = -1;
    this.prevJump[g] = 0;
    this.powerslide[g] = 0;
    this.boostTime[g] = 0;
    this.touchingBall[g] = 0;
    this.hitPendingTicks[g] = 0;
    this.airborneTicks[g] = 0;
    this.respawnTimer[g] = 0;
  }

  private setDemolished(g: number, demolished: boolean): void {
    this.carDemolished[g] = demolished ? 1 : 0;
    this.carBodies[g]!.setEnabled(!demolished);
  }

  private refreshCarFlags(g: number): void {
    const up = upZ(this.carQuat, g);
    if (this.airborneTicks[g]! > 0) this.airborneTicks[g]! -= 1;
    this.carOnGround[g] = !this.carDemolished[g] && this.airborneTicks[g] === 0 && this.carPos[3 * g + 2]! - CARBALL.car.restHeight < CAR_MODEL.groundToleranceUu && up > CAR_MODEL.groundMinUpZ ? 1 : 0;
    const speed = Math.hypot(this.carVel[3 * g]!, this.carVel[3 * g + 1]!, this.carVel[3 * g + 2]!);
    this.carSupersonic[g] = speed >= CARBALL.car.supersonicSpeed ? 1 : 0;
    this.carHasFlip[g] = this.carOnGround[g] || (!this.hasDoubleJumped[g] && !this.hasFlipped[g] && (!this.hasJumped[g] || this.airTimeSinceJump[g]! < CARBALL.jump.secondJumpWindowSeconds)) ? 1 : 0;
  }

  private vec(x: number, y: number, z: number): { x: number; y: number; z: number } {
    const v = this.v3;
    v.x = x;
    v.y = y;
    v.z = z;
    return v;
  }

  // ---------------------------------------------------------------------------------------------
  // The tick
  // ---------------------------------------------------------------------------------------------

  /** Clears the event counters of one arena (the env does this at the start of each step). */
  clearEvents(a: number): void {
    const g0 = a * this.numCars;
    this.events.fill(0, g0 * NUM_EVENTS, (g0 + this.numCars) * NUM_EVENTS);
  }

  /** Advances every arena by one 1/120 s tick. */
  step(): void {
    const nc = this.numCars;
    for (let a = 0; a < this.numArenas; a++) {
      this.goalScoredBy[a] = -1;
      for (let c = 0; c < nc; c++) {
        const g = a * nc + c;
        if (this.carDemolished[g]) {
          this.respawnTimer[g]! -= DT;
          if (this.respawnTimer[g]! <= 0) this.respawn(a, c);
        } else this.drive(g);
      }
    }
    this.supersonicBefore.set(this.carSupersonic);
    this.velBefore.set(this.carVel);
    this.world!.step();
    for (let a = 0; a < this.numArenas; a++) {
      this.readBall(a);
      for (let c = 0; c < nc; c++) {
        const g = a * nc + c;
        if (!this.carDemolished[g]) this.readCar(a, g);
      }
      this.tick[a]! += 1;
      if (this.frozen[a]) continue;
      this.ticksSinceTouch[a]! += 1;
      this.touchesAndDemos(a);
      this.pads(a);
      this.goals(a);
    }
  }

  private respawn(a: number, c: number): void {
    const [x, y, yaw] = RESPAWN_SPAWNS[this.rngs[a]!.integer(RESPAWN_SPAWNS.length)]!;
    const g = a * this.numCars + c;
    this.setDemolished(g, false);
    if (c < this.teamSize) this.spawnCar(g, x, y, yaw);
    else this.spawnCar(g, -x, -y, yaw + Math.PI);
  }

  /** Applies one car's controls: the game's curves as velocity changes for this tick. */
  private drive(g: number): void {
    const ctl = this.controls;
    const k = NUM_CONTROLS * g;
    const throttleIn = ctl[k]!, steer = ctl[k + 1]!, pitch = ctl[k + 2]!, yawIn = ctl[k + 3]!, roll = ctl[k + 4]!;
    const jump = ctl[k + 5]! > 0, boostIn = ctl[k + 6]! > 0, handbrake = ctl[k + 7]! > 0;
    const q = this.carQuat;
    const qx = q[4 * g]!, qy = q[4 * g + 1]!, qz = q[4 * g + 2]!, qw = q[4 * g + 3]!;
    // Car axes in the world: forward (local x), left (local y), up (local z).
    const fx = 1 - 2 * (qy * qy + qz * qz), fy = 2 * (qx * qy + qw * qz), fz = 2 * (qx * qz - qw * qy);
    const lx = 2 * (qx * qy - qw * qz), ly = 1 - 2 * (qx * qx + qz * qz), lz = 2 * (qy * qz + qw * qx);
    const ux = 2 * (qx * qz + qw * qy), uy = 2 * (qy * qz - qw * qx), uz = 1 - 2 * (qx * qx + qy * qy);
    let vx = this.carVel[3 * g]!, vy = this.carVel[3 * g + 1]!, vz = this.carVel[3 * g + 2]!;
    let wx = this.carAngVel[3 * g]!, wy = this.carAngVel[3 * g + 1]!, wz = this.carAngVel[3 * g + 2]!;
    const onGround = this.carOnGround[g] === 1;
    let uprightYaw = NaN;

    // Boost: 33.3 per second, at least 0.1 s once started.
    const boosting = this.carBoost[g]! > 0 && (boostIn || (this.boostTime[g]! > 0 && this.boostTime[g]! < CAR_MODEL.minBoostSeconds));
    if (boosting) {
      this.carBoost[g] = Math.max(0, this.carBoost[g]! - CARBALL.boost.perSecond * DT);
      this.boostTime[g]! += DT;
    } else this.boostTime[g] = 0;
    const throttle = boosting ? 1 : throttleIn;

    // Powerslide: analog, rises 5/s while held, falls 2/s.
    this.powerslide[g] = handbrake ? Math.min(1, this.powerslide[g]! + CAR_MODEL.powerslideRisePerSecond * DT) : Math.max(0, this.powerslide[g]! - CAR_MODEL.powerslideFallPerSecond * DT);

    if (onGround) {
      // Ground: a bicycle model on the floor plane.
      const yaw = Math.atan2(fy, fx);
      const hx = Math.cos(yaw), hy = Math.sin(yaw);
      let fwd = vx * hx + vy * hy;
      let lat = -vx * hy + vy * hx;
      const absFwd = Math.abs(fwd);
      let accel = 0;
      if (throttle !== 0 && (fwd * throttle >= 0 || absFwd < 1)) {
        accel = throttle * CAR_MODEL.throttleAccelUu * evalCurve(CAR_MODEL.driveTorqueBySpeed, absFwd);
      } else {
        const brake = throttle !== 0 ? CAR_MODEL.brakeAccelUu : absFwd < CAR_MODEL.coastFullBrakeBelowUu ? CAR_MODEL.brakeAccelUu : CAR_MODEL.brakeAccelUu * CAR_MODEL.coastBrakeFactor;
        const dv = Math.min(absFwd, brake * DT);
        fwd -= Math.sign(fwd) * dv;
      }
      if (boosting) accel += CARBALL.boost.groundAccel;
      fwd += accel * DT;
      const grip = 1 - this.powerslide[g]! * (1 - CAR_MODEL.powerslideLateralFriction);
      lat *= 1 - grip;
      vx = fwd * hx - lat * hy;
      vy = fwd * hy + lat * hx;
      const slide = this.powerslide[g]!;
      const steerAngle = (1 - slide) * evalCurve(CAR_MODEL.maxSteerAngleBySpeed, Math.abs(fwd)) + slide * evalCurve(CAR_MODEL.powerslideSteerAngleBySpeed, Math.abs(fwd));
      // Steer +1 turns right (clockwise seen from above): negative yaw rate when driving forward.
      wz = clamp((-steer * fwd * Math.tan(steerAngle)) / CAR_MODEL.wheelbaseUu, -CARBALL.car.maxAngularSpeed, CARBALL.car.maxAngularSpeed);
      wx = 0;
      wy = 0;
      if (uz < 0.9999) uprightYaw = yaw;
      // Suspension stand-in: hold the origin at rest height (the step's gravity included), unless jumping.
      if (!this.isJumping[g]) vz = (CARBALL.car.restHeight - this.carPos[3 * g + 2]!) / DT - CARBALL.gravityZ * DT;
      // Landed: jump and flip are available again.
      if (!this.isJumping[g]) {
        this.hasJumped[g] = 0;
        this.hasDoubleJumped[g] = 0;
        this.hasFlipped[g] = 0;
        this.airTimeSinceJump[g] = 0;
        this.flipTime[g] = -1;
      }
      if (jump && !this.prevJump[g] && !this.isJumping[g]) {
        vx += ux * CARBALL.jump.immediateSpeed;
        vy += uy * CARBALL.jump.immediateSpeed;
        vz += uz * CARBALL.jump.immediateSpeed;
        this.isJumping[g] = 1;
        this.hasJumped[g] = 1;
        this.jumpTime[g] = 0;
      }
    } else {
      if (boosting) {
        vx += fx * CARBALL.boost.airAccel * DT;
        vy += fy * CARBALL.boost.airAccel * DT;
        vz += fz * CARBALL.boost.airAccel * DT;
      }
      if (this.hasJumped[g] && !this.isJumping[g]) this.airTimeSinceJump[g]! += DT;
      // Turtle recovery: a car lying on its roof or side on the floor, nearly still, rights itself on a
      // jump press (the game rolls it over; this model sets it upright, wheels down, with a small hop).
      const z = this.carPos[3 * g + 2]!;
      if (jump && !this.prevJump[g] && uz < CAR_MODEL.groundMinUpZ && z < CAR_MODEL.turtleMaxHeightUu && Math.hypot(vx, vy, vz) < CAR_MODEL.turtleMaxSpeedUu) {
        uprightYaw = Math.atan2(fy, fx);
        vz = CARBALL.jump.immediateSpeed;
        wx = 0;
        wy = 0;
        wz = 0;
        this.prevJump[g] = 1;
        this.finishDrive(g, vx, vy, vz, wx, wy, wz, uprightYaw);
        return;
      }
      const canSecond = !this.hasDoubleJumped[g] && !this.hasFlipped[g] && (!this.hasJumped[g] || this.airTimeSinceJump[g]! < CARBALL.jump.secondJumpWindowSeconds);
      if (jump && !this.prevJump[g] && !this.isJumping[g] && canSecond) {
        const F = CAR_MODEL.flip;
        if (Math.max(Math.abs(pitch), Math.abs(yawIn), Math.abs(roll)) >= F.deadzone) {
          // Dodge: forward part from −pitch, sideways part from yaw + roll, on the car's heading.
          let df = -pitch, dr = clamp(yawIn + roll, -1, 1);
          const n = Math.hypot(df, dr);
          if (n > 0) {
            df /= n;
            dr /= n;
          }
          const yaw = Math.atan2(fy, fx);
          const hx = Math.cos(yaw), hy = Math.sin(yaw);
          const speedShare = Math.min(1, Math.abs(vx * hx + vy * hy) / CARBALL.car.maxSpeed);
          const fScale = df < 0 ? F.backwardImpulseScale : F.forwardImpulseScale;
          const impF = df * F.initialVelocityUu * (1 + (fScale - 1) * speedShare);
          const impR = dr * F.initialVelocityUu * (1 + (F.sideImpulseScale - 1) * speedShare);
          // Right on the floor plane is (hy, −hx).
          vx += impF * hx + impR * hy;
          vy += impF * hy - impR * hx;
          this.hasFlipped[g] = 1;
          this.flipTime[g] = 0;
          this.flipForward[g] = df;
          this.flipRight[g] = dr;
        } else {
          vx += ux * CARBALL.jump.immediateSpeed;
          vy += uy * CARBALL.jump.immediateSpeed;
          vz += uz * CARBALL.jump.immediateSpeed;
          this.hasDoubleJumped[g] = 1;
        }
      }
      // Angular velocity in the car frame (forward, left, up).
      let lwx = wx * fx + wy * fy + wz * fz;
      let lwy = wx * lx + wy * ly + wz * lz;
      let lwz = wx * ux + wy * uy + wz * uz;
      if (this.flipTime[g]! >= 0 && this.flipTime[g]! < CAR_MODEL.flip.torqueSeconds) {
        // Flip torque: forward part pitches the nose down (+ about left), sideways part rolls right (+ about forward).
        const m = CARBALL.car.maxAngularSpeed;
        lwx = this.flipRight[g]! * m;
        lwy = this.flipForward[g]! * m;
        lwz = 0;
        this.flipTime[g]! += DT;
      } else {
        if (this.flipTime[g]! >= 0) this.flipTime[g]! += DT;
        const A = CAR_MODEL.airControl;
        const s = A.torqueScale * DT;
        // Pitch +1 lifts the nose (− about left), yaw +1 turns right (− about up), roll +1 rolls right (+ about forward).
        lwx += s * (A.torque[2] * roll - A.damping[2] * lwx);
        lwy += s * (-A.torque[0] * pitch - A.damping[0] * lwy * (1 - Math.abs(pitch)));
        lwz += s * (-A.torque[1] * yawIn - A.damping[1] * lwz * (1 - Math.abs(yawIn)));
      }
      wx = lwx * fx + lwy * lx + lwz * ux;
      wy = lwx * fy + lwy * ly + lwz * uy;
      wz = lwx * fz + lwy * lz + lwz * uz;
      const w = Math.hypot(wx, wy, wz);
      if (w > CARBALL.car.maxAngularSpeed) {
        const r = CARBALL.car.maxAngularSpeed / w;
        wx *= r;
        wy *= r;
        wz *= r;
      }
    }

    // Jump hold: 1458.3 uu/s² along the car's up axis while held, between 0.025 s and 0.2 s.
    if (this.isJumping[g]) {
      const J = CARBALL.jump;
      this.jumpTime[g]! += DT;
      if (this.jumpTime[g]! <= J.maxHoldSeconds && (jump || this.jumpTime[g]! <= J.minHoldSeconds)) {
        vx += ux * J.holdAccel * DT;
        vy += uy * J.holdAccel * DT;
        vz += uz * J.holdAccel * DT;
      } else {
        this.isJumping[g] = 0;
        this.airTimeSinceJump[g] = 0;
      }
    }
    this.prevJump[g] = jump ? 1 : 0;

    this.finishDrive(g, vx, vy, vz, wx, wy, wz, uprightYaw);
  }

  /** Caps the speed and writes the car's new velocities (and an upright orientation, if asked) to Rapier. */
  private finishDrive(g: number, vx: number, vy: number, vz: number, wx: number, wy: number, wz: number, uprightYaw: number): void {
    const speed = Math.hypot(vx, vy, vz);
    if (speed > CARBALL.car.maxSpeed) {
      const r = CARBALL.car.maxSpeed / speed;
      vx *= r;
      vy *= r;
      vz *= r;
    }
    const body = this.carBodies[g]!;
    if (!Number.isNaN(uprightYaw)) {
      const h = uprightYaw / 2;
      this.q4.x = 0;
      this.q4.y = 0;
      this.q4.z = Math.sin(h);
      this.q4.w = Math.cos(h);
      body.setRotation(this.q4, true);
    }
    this.setLinvel(body, vx, vy, vz);
    this.setAngvel(body, wx, wy, wz);
  }


  private readBall(a: number): void {
    const body = this.ballBodies[a]!;
    const p = body.translation(this.rp);
    const v = body.linvel(this.rv);
    const w = body.angvel(this.rw);
    const i = 3 * a;
    this.ballPrevPos[i] = this.ballPos[i]!;
    this.ballPrevPos[i + 1] = this.ballPos[i + 1]!;
    this.ballPrevPos[i + 2] = this.ballPos[i + 2]!;
    this.ballPrevVel[i] = this.ballVel[i]!;
    this.ballPrevVel[i + 1] = this.ballVel[i + 1]!;
    this.ballPrevVel[i + 2] = this.ballVel[i + 2]!;
    this.ballPos[i] = p.x - this.arenaOffsetX[a]!;
    this.ballPos[i + 1] = p.y - this.arenaOffsetY[a]!;
    this.ballPos[i + 2] = p.z;
    let vx = v.x, vy = v.y, vz = v.z;
    const speed = Math.hypot(vx, vy, vz);
    if (speed > CARBALL.ball.maxSpeed) {
      const r = CARBALL.ball.maxSpeed / speed;
      vx *= r;
      vy *= r;
      vz *= r;
      this.setLinvel(body, vx, vy, vz);
    }
    set3(this.ballVel, a, vx, vy, vz);
    let wx = w.x, wy = w.y, wz = w.z;
    const spin = Math.hypot(wx, wy, wz);
    if (spin > CARBALL.ball.maxAngularSpeed) {
      const r = CARBALL.ball.maxAngularSpeed / spin;
      wx *= r;
      wy *= r;
      wz *= r;
      this.setAngvel(body, wx, wy, wz);
    }
    set3(this.ballAngVel, a, wx, wy, wz);
  }

  private readCar(a: number, g: number): void {
    const body = this.carBodies[g]!;
    const p = body.translation(this.rp);
    const r = body.rotation(this.rq);
    const v = body.linvel(this.rv);
    const w = body.angvel(this.rw);
    set3(this.carPos, g, p.x - this.arenaOffsetX[a]!, p.y - this.arenaOffsetY[a]!, p.z);
    this.carQuat[4 * g] = r.x;
    this.carQuat[4 * g + 1] = r.y;
    this.carQuat[4 * g + 2] = r.z;
    this.carQuat[4 * g + 3] = r.w;
    let vx = v.x, vy = v.y, vz = v.z;
    const speed = Math.hypot(vx, vy, vz);
    if (speed > CARBALL.car.maxSpeed) {
      const s = CARBALL.car.maxSpeed / speed;
      vx *= s;
      vy *= s;
      vz *= s;
      this.setLinvel(body, vx, vy, vz);
    }
    set3(this.carVel, g, vx, vy, vz);
    set3(this.carAngVel, g, w.x, w.y, w.z);
    this.refreshCarFlags(g);
  }

  /** Ball touches (with the game's extra hit impulse, shots and saves) and supersonic demolitions. */
  private touchesAndDemos(a: number): void {
    const nc = this.numCars;
    const bi = 3 * a;
    const bx = this.ballPos[bi]!, by = this.ballPos[bi + 1]!, bz = this.ballPos[bi + 2]!;
    const [hx, hy, hz] = CARBALL.car.hitbox;
    const [ox, oy, oz] = CAR_MODEL.hitboxOffset;
    const reach = CARBALL.ball.radius + CAR_MODEL.touchToleranceUu;
    for (let c = 0; c < nc; c++) {
      const g = a * nc + c;
      if (this.carDemolished[g]) {
        this.touchingBall[g] = 0;
        continue;
      }
      const q = this.carQuat;
      const qx = q[4 * g]!, qy = q[4 * g + 1]!, qz = q[4 * g + 2]!, qw = q[4 * g + 3]!;
      const fx = 1 - 2 * (qy * qy + qz * qz), fy = 2 * (qx * qy + qw * qz), fz = 2 * (qx * qz - qw * qy);
      const lx = 2 * (qx * qy - qw * qz), ly = 1 - 2 * (qx * qx + qz * qz), lz = 2 * (qy * qz + qw * qx);
      const ux = 2 * (qx * qz + qw * qy), uy = 2 * (qy * qz - qw * qx), uz = 1 - 2 * (qx * qx + qy * qy);
      const cx = this.carPos[3 * g]! + ox * fx + oy * lx + oz * ux;
      const cy = this.carPos[3 * g + 1]! + ox * fy + oy * ly + oz * uy;
      const cz = this.carPos[3 * g + 2]! + ox * fz + oy * lz + oz * uz;
      const dx = bx - cx, dy = by - cy, dz = bz - cz;
      // Distance from the ball's centre to the hitbox, in the car's frame.
      const pf = dx * fx + dy * fy + dz * fz, pl = dx * lx + dy * ly + dz * lz, pu = dx * ux + dy * uy + dz * uz;
      const ef = Math.abs(pf) - hx / 2, el = Math.abs(pl) - hy / 2, eu = Math.abs(pu) - hz / 2;
      const dist = Math.hypot(Math.max(ef, 0), Math.max(el, 0), Math.max(eu, 0));
      const touching = dist <= reach;
      if (touching && !this.touchingBall[g]) this.onTouch(a, c, g);
      this.touchingBall[g] = touching ? 1 : 0;
      if (this.hitPendingTicks[g]! > 0) {
        // Closing speed of the car on the ball along the line between them (negative: still closing).
        const n = Math.hypot(dx, dy, dz);
        const sep = n > 0 ? ((this.ballVel[bi]! - this.carVel[3 * g]!) * dx + (this.ballVel[bi + 1]! - this.carVel[3 * g + 1]!) * dy + (this.ballVel[bi + 2]! - this.carVel[3 * g + 2]!) * dz) / n : 0;
        this.hitPendingTicks[g]! -= 1;
        if (sep >= -1 || this.hitPendingTicks[g] === 0) {
          this.hitPendingTicks[g] = 0;
          this.applyHit(a, c, g, dx, dy, dz, fx, fy, fz);
        }
      }
    }
    this.carContacts(a);
  }

  /**
   * Car–car contacts (close pairs only, confirmed by Rapier's contact manifold): a supersonic car that runs
   * into an opponent demolishes it; otherwise, when a contact begins, the car closing faster bumps the
   * other with the game's bump velocities (by the bumper's speed: along the hit, and upward).
   */
  private carContacts(a: number): void {
    const nc = this.numCars;
    for (let c = 0; c < nc; c++) {
      for (let o = c + 1; o < nc; o++) {
        const g = a * nc + c, h = a * nc + o;
        const pair = a * nc * nc + c * nc + o;
        if (this.carDemolished[g] || this.carDemolished[h]) {
          this.carPairContact[pair] = 0;
          continue;
        }
        let nx = this.carPos[3 * h]! - this.carPos[3 * g]!, ny = this.carPos[3 * h + 1]! - this.carPos[3 * g + 1]!, nz = this.carPos[3 * h + 2]! - this.carPos[3 * g + 2]!;
        const dist = Math.hypot(nx, ny, nz);
        if (dist > CAR_MODEL.demoCandidateDistanceUu || dist === 0) {
          this.carPairContact[pair] = 0;
          continue;
        }
        const contact = this.inContact(this.carColliders[g]!, this.carColliders[h]!);
        const began = contact && !this.carPairContact[pair];
        this.carPairContact[pair] = contact ? 1 : 0;
        if (!contact) continue;
        nx /= dist;
        ny /= dist;
        nz /= dist;
        // Who hit whom: the car that was closing on the other faster before the contact.
        const vb = this.velBefore;
        const closingG = vb[3 * g]! * nx + vb[3 * g + 1]! * ny + vb[3 * g + 2]! * nz;
        const closingH = -(vb[3 * h]! * nx + vb[3 * h + 1]! * ny + vb[3 * h + 2]! * nz);
        const gHits = closingG >= closingH;
        const att = gHits ? g : h, vic = gHits ? h : g;
        const sign = gHits ? 1 : -1;
        if ((gHits ? closingG : closingH) <= 0) continue;
        const opponents = (c < this.teamSize) !== (o < this.teamSize);
        if (opponents && this.supersonicBefore[att]) this.demolish(att, vic);
        else if (began && this.airborneTicks[vic] === 0) this.bump(att, vic, sign * nx, sign * ny);
      }
    }
  }

  private demolish(att: number, vic: number): void {
    this.setDemolished(vic, true);
    this.respawnTimer[vic] = CARBALL.demoRespawnSeconds;
    set3(this.carVel, vic, 0, 0, 0);
    set3(this.carAngVel, vic, 0, 0, 0);
    this.carOnGround[vic] = 0;
    this.carSupersonic[vic] = 0;
    this.touchingBall[vic] = 0;
    // The victim vanishes: the attacker keeps the velocity the contact took from it within this tick.
    const vb = this.velBefore;
    set3(this.carVel, att, vb[3 * att]!, vb[3 * att + 1]!, vb[3 * att + 2]!);
    this.setLinvel(this.carBodies[att]!, vb[3 * att]!, vb[3 * att + 1]!, vb[3 * att + 2]!);
    this.carSupersonic[att] = 1;
    this.events[NUM_EVENTS * att + EV.demo]! += 1;
    this.events[NUM_EVENTS * vic + EV.demoed]! += 1;
  }

  /** The game's bump: the victim's velocity gains bumpVel(speed) along the hit (on the floor plane) and bumpUp(speed) upward. */
  private bump(att: number, vic: number, dx: number, dy: number): void {
    const vb = this.velBefore;
    const speed = Math.hypot(vb[3 * att]!, vb[3 * att + 1]!, vb[3 * att + 2]!);
    const h = Math.hypot(dx, dy);
    if (h === 0) return;
    const along = evalCurve(CAR_MODEL.bumpVelocityBySpeed, speed) / h;
    const up = evalCurve(CAR_MODEL.bumpUpwardVelocityBySpeed, speed);
    let vx = vb[3 * vic]! + dx * along, vy = vb[3 * vic + 1]! + dy * along, vz = vb[3 * vic + 2]! + up;
    const v = Math.hypot(vx, vy, vz);
    if (v > CARBALL.car.maxSpeed) {
      const r = CARBALL.car.maxSpeed / v;
      vx *= r;
      vy *= r;
      vz *= r;
    }
    set3(this.carVel, vic, vx, vy, vz);
    this.setLinvel(this.carBodies[vic]!, vx, vy, vz);
    // Airborne for a moment: no suspension or tyre grip may cancel the bump.
    this.airborneTicks[vic] = CAR_MODEL.bumpAirborneTicks;
    this.carOnGround[vic] = 0;
  }

  private contactFound = false;
  private readonly contactCallback = (manifold: RapierTypes.TempContactManifold): void => {
    for (let i = 0; i < manifold.numContacts(); i++) if (manifold.contactDist(i) <= CAR_MODEL.touchToleranceUu) this.contactFound = true;
  };

  private inContact(c1: RapierTypes.Collider, c2: RapierTypes.Collider): boolean {
    this.contactFound = false;
    this.world!.contactPair(c1, c2, this.contactCallback);
    return this.contactFound;
  }

  /** A touch begins: events now; the game's extra hit impulse once the contact has been resolved. */
  private onTouch(a: number, c: number, g: number): void {
    const bi = 3 * a;
    const team = c < this.teamSize ? 0 : 1;
    this.wasOnOwnGoal[g] = this.onTarget(this.ballPrevPos, this.ballPrevVel, bi, team === 0 ? -1 : 1) ? 1 : 0;
    this.wasOnTheirGoal[g] = this.onTarget(this.ballPrevPos, this.ballPrevVel, bi, team === 0 ? 1 : -1) ? 1 : 0;
    // Relative speed at impact: the velocities before this tick's step.
    this.hitRelSpeed[g] = Math.min(
      Math.hypot(this.ballPrevVel[bi]! - this.velBefore[3 * g]!, this.ballPrevVel[bi + 1]! - this.velBefore[3 * g + 1]!, this.ballPrevVel[bi + 2]! - this.velBefore[3 * g + 2]!),
      CAR_MODEL.ballHitMaxRelSpeedUu,
    );
    this.hitPendingTicks[g] = HIT_WAIT_TICKS;
    this.events[NUM_EVENTS * g + EV.touch]! += 1;
    this.lastTouch[a] = c;
    this.ticksSinceTouch[a] = 0;
  }

  /**
   * The game's extra hit impulse along the car-to-ball direction (z × 0.35, forward part × 0.65), scaled
   * by the relative speed's factor, applied once Rapier's contact has stopped the car closing on the
   * ball (else the next contact would absorb it); then the touch is judged as a shot or a save.
   */
  private applyHit(a: number, c: number, g: number, dx: number, dy: number, dz: number, fx: number, fy: number, fz: number): void {
    const bi = 3 * a;
    const team = c < this.teamSize ? 0 : 1;
    let vx = this.ballVel[bi]!, vy = this.ballVel[bi + 1]!, vz = this.ballVel[bi + 2]!;
    const rel = this.hitRelSpeed[g]!;
    dz *= CAR_MODEL.ballHitZScale;
    const along = (dx * fx + dy * fy + dz * fz) * (1 - CAR_MODEL.ballHitForwardScale);
    dx -= along * fx;
    dy -= along * fy;
    dz -= along * fz;
    const n = Math.hypot(dx, dy, dz);
    if (n > 0 && rel > 0) {
      const dv = (rel * evalCurve(CAR_MODEL.ballHitFactorBySpeed, rel)) / n;
      vx += dx * dv;
      vy += dy * dv;
      vz += dz * dv;
      const speed = Math.hypot(vx, vy, vz);
      if (speed > CARBALL.ball.maxSpeed) {
        const r = CARBALL.ball.maxSpeed / speed;
        vx *= r;
        vy *= r;
        vz *= r;
      }
      set3(this.ballVel, a, vx, vy, vz);
      this.setLinvel(this.ballBodies[a]!, vx, vy, vz);
    }
    const ev = NUM_EVENTS * g;
    if (!this.wasOnTheirGoal[g] && this.onTarget(this.ballPos, this.ballVel, bi, team === 0 ? 1 : -1)) this.events[ev + EV.shot]! += 1;
    if (this.wasOnOwnGoal[g] && !this.onTarget(this.ballPos, this.ballVel, bi, team === 0 ? -1 : 1)) this.events[ev + EV.save]! += 1;
  }

  /**
   * Whether a ball at `pos` with velocity `vel` is on course into the goal at y = side · 5120: its
   * ballistic path (gravity, no drag, no bounces) crosses the goal line inside the mouth. A path that
   * would pass below the floor counts as on target (it bounces in).
   */
  private onTarget(pos: Float64Array, vel: Float64Array, i: number, side: number): boolean {
    const vy = vel[i + 1]!;
    if (vy * side <= 0) return false;
    const t = (side * CARBALL.arena.backWallY - pos[i + 1]!) / vy;
    if (t < 0) return true;
    const x = pos[i]! + vel[i]! * t;
    const z = pos[i + 2]! + vel[i + 2]! * t + 0.5 * CARBALL.gravityZ * t * t;
    return Math.abs(x) < CARBALL.goal.halfWidth && z < CARBALL.goal.height;
  }

  private pads(a: number): void {
    const p0 = a * NUM_PADS;
    const timers = this.padTimer;
    for (let p = p0; p < p0 + NUM_PADS; p++) if (timers[p]! > 0) timers[p] = Math.max(0, timers[p]! - DT);
    for (let c = 0; c < this.numCars; c++) {
      const g = a * this.numCars + c;
      const z = this.carPos[3 * g + 2]!;
      if (this.carDemolished[g] || this.carBoost[g]! >= 100 || z > PAD_MAX_Z) continue;
      const x = this.carPos[3 * g]!, y = this.carPos[3 * g + 1]!;
      for (let p = 0; p < NUM_PADS; p++) {
        if (timers[p0 + p]! > 0) continue;
        const dx = x - PAD_X[p]!, dy = y - PAD_Y[p]!;
        if (dx * dx + dy * dy > PAD_R2[p]! || z > PAD_TOP_Z[p]!) continue;
        const big = BOOST_PADS[p]!.big;
        const before = this.carBoost[g]!;
        this.carBoost[g] = Math.min(100, before + (big ? CARBALL.boost.bigPadAmount : CARBALL.boost.smallPadAmount));
        this.events[NUM_EVENTS * g + EV.boostPickup]! += this.carBoost[g]! - before;
        timers[p0 + p] = big ? CARBALL.boost.bigRespawnSeconds : CARBALL.boost.smallRespawnSeconds;
      }
    }
  }

  private goals(a: number): void {
    const y = this.ballPos[3 * a + 1]!;
    const team = y > GOAL_LINE_Y ? 0 : y < -GOAL_LINE_Y ? 1 : -1;
    if (team < 0) return;
    this.goalScoredBy[a] = team;
    this.score[2 * a + team]! += 1;
    const last = this.lastTouch[a]!;
    for (let c = 0; c < this.numCars; c++) {
      const ev = NUM_EVENTS * (a * this.numCars + c);
      const carTeam = c < this.teamSize ? 0 : 1;
      if (carTeam === team) {
        this.events[ev + EV.teamGoal]! += 1;
        if (c === last) this.events[ev + EV.goal]! += 1;
      } else this.events[ev + EV.concede]! += 1;
    }
  }
}

function set3(arr: Float64Array, i: number, x: number, y: number, z: number): void {
  arr[3 * i] = x;
  arr[3 * i + 1] = y;
  arr[3 * i + 2] = z;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function upZ(q: Float64Array, g: number): number {
  const qx = q[4 * g]!, qy = q[4 * g + 1]!;
  return 1 - 2 * (qx * qx + qy * qy);
}

/** The quaternion (x, y, z, w) of a rotation by `yaw` about +z. */
export function yawQuat(yaw: number): [number, number, number, number] {
  return [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)];
}
