/**
 * The carball contract shared by the env, the reward library, replays and `rewardlab reward eval`
 * (DESIGN.md "Carball state"): public numbers are Rocket League units (uu, 1 uu = 1 cm), seconds and
 * radians. Team 0 (blue) defends the goal at y = −5120 and attacks +y; team 1 (orange) the reverse.
 */
export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export interface BallState {
  pos: Vec3;
  vel: Vec3;
  angVel: Vec3;
}

export interface CarState {
  id: number;
  team: 0 | 1;
  pos: Vec3;
  vel: Vec3;
  angVel: Vec3;
  /** Orientation as a unit quaternion (x, y, z, w). */
  quat: Quat;
  /** 0–100. */
  boost: number;
  onGround: boolean;
  demolished: boolean;
  /** Speed ≥ 2200 uu/s. Reported by `getState`; ignored by `setState` (derived from `vel`). */
  supersonic?: boolean;
  /** The car can still flip or double jump. Reported by `getState`; ignored by `setState`. */
  hasFlip?: boolean;
  /** The car boosted on the last physics tick. Reported by `getState`; ignored by `setState`. */
  boosting?: boolean;
}

export interface CarballState {
  /** Physics ticks (120 per second) since the episode's reset. */
  tick: number;
  /** Goals scored by team 0 and team 1. */
  score: [number, number];
  ball: BallState;
  /** In agent-slot order: all of team 0, then all of team 1. */
  cars: CarState[];
  /**
   * Seconds until each boost pad is back (0: available), in `BOOST_PADS` order. Reported by `getState`;
   * ignored by `setState` (a set state keeps the pads as they were).
   */
  boostPads?: number[];
}

/**
 * Per-agent events of one env step (one action, i.e. `actionRepeat` ticks), reported in
 * `info.agents[slot].events`. Counts, so an event that happened twice within the step counts 2.
 */
export interface CarballEvents {
  /** This agent scored (last touch before a goal for its team). */
  goal: number;
  /** The agent's team scored (whoever touched last). */
  teamGoal: number;
  /** The opponents scored. */
  concede: number;
  /** The agent touched the ball. */
  touch: number;
  /** The agent's touch sent the ball on a course into the opponent goal. */
  shot: number;
  /** The agent's touch stopped a ball that was on a course into its own goal. */
  save: number;
  /** The agent demolished an opponent. */
  demo: number;
  /** The agent was demolished. */
  demoed: number;
  /** Boost gained from pads (0–100 scale). */
  boostPickup: number;
}

export const CARBALL_EVENT_NAMES = ['goal', 'teamGoal', 'concede', 'touch', 'shot', 'save', 'demo', 'demoed', 'boostPickup'] as const satisfies readonly (keyof CarballEvents)[];

/** Constants of REFERENCES.md §1 (uu, uu/s, seconds). */
export const CARBALL = {
  ticksPerSecond: 120,
  defaultActionRepeat: 8,
  gravityZ: -650,
  arena: { sideWallX: 4096, backWallY: 5120, ceilingZ: 2044, cornerCut: 1152 },
  goal: { halfWidth: 892.755, height: 642.775, netBackY: 6000 },
  ball: { radius: 91.25, mass: 30, restitution: 0.6, friction: 0.35, linearDrag: 0.03, maxSpeed: 6000, maxAngularSpeed: 6, restHeight: 93.15 },
  car: {
    mass: 180,
    maxSpeed: 2300,
    supersonicSpeed: 2200,
    maxAngularSpeed: 5.5,
    /** Octane hitbox length × width × height. */
    hitbox: [120.5, 86.7, 38.7] as Vec3,
    restHeight: 17,
  },
  boost: { perSecond: 100 / 3, groundAccel: 991.67, airAccel: 1058.3, bigPadAmount: 100, smallPadAmount: 12, bigRespawnSeconds: 10, smallRespawnSeconds: 4 },
  jump: { immediateSpeed: 875 / 3, holdAccel: 4375 / 3, minHoldSeconds: 0.025, maxHoldSeconds: 0.2, secondJumpWindowSeconds: 1.25 },
  demoRespawnSeconds: 3,
} as const;

/** Where the ball's centre must pass for a goal: y = ±(5120 + ball radius). */
export const GOAL_LINE_Y = CARBALL.arena.backWallY + CARBALL.ball.radius;
