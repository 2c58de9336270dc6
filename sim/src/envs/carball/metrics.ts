/**
 * Carball's task metrics (sim/src/task-metrics.ts): per agent and episode, its touches, its team's goals
 * for and against, and the mean over the episode's steps of the ball's velocity toward the back of the
 * goal the agent attacks (RLGym's VelocityBallToGoal direction, in uu/s: what `rewardlab eval
 * --opponent` reports). Kept in flat arrays for the vector env's hot path.
 */
import type { TaskMetricSpec } from '../../task-metrics';
import { EV, NUM_EVENTS, type CarballWorld } from './world';

export const CARBALL_TASK_METRICS: readonly TaskMetricSpec[] = [
  { name: 'touches', description: "the agent's ball touches in the episode", better: 'higher' },
  { name: 'goalsFor', description: "goals the agent's team scored in the episode", better: 'higher' },
  { name: 'goalsAgainst', description: "goals the agent's team conceded in the episode", better: 'lower' },
  { name: 'ballVelocityToGoal', description: "mean over the episode's steps of the ball's velocity toward the back of the goal the agent attacks (0, ±6000)", better: 'higher', unit: 'uu/s' },
];

/** The back of the goal team `team` attacks (y = +6000 for team 0, −6000 for team 1). */
const TARGET_Y = [6000, -6000];

export class CarballEpisodeTally {
  private readonly touches: Float64Array;
  private readonly goalsFor: Float64Array;
  private readonly goalsAgainst: Float64Array;
  private readonly velocitySum: Float64Array;
  private readonly steps: Int32Array;

  constructor(
    private readonly numAgents: number,
    private readonly teamSize: number,
    numSlots: number,
  ) {
    this.touches = new Float64Array(numSlots);
    this.goalsFor = new Float64Array(numSlots);
    this.goalsAgainst = new Float64Array(numSlots);
    this.velocitySum = new Float64Array(numSlots);
    this.steps = new Int32Array(numSlots);
  }

  /** Adds arena `a`'s step (its events and the ball's velocity after it) to the slots of env `env`. */
  record(world: CarballWorld, a: number, env: number): void {
    const bx = world.ballPos[3 * a]!, by = world.ballPos[3 * a + 1]!;
    const vx = world.ballVel[3 * a]!, vy = world.ballVel[3 * a + 1]!;
    for (let c = 0; c < this.numAgents; c++) {
      const s = env * this.numAgents + c;
      const ev = NUM_EVENTS * (a * world.numCars + c);
      this.touches[s]! += world.events[ev + EV.touch]!;
      this.goalsFor[s]! += world.events[ev + EV.teamGoal]!;
      this.goalsAgainst[s]! += world.events[ev + EV.concede]!;
      const dx = -bx, dy = TARGET_Y[c < this.teamSize ? 0 : 1]! - by;
      this.velocitySum[s]! += (dx * vx + dy * vy) / (Math.hypot(dx, dy) || 1);
      this.steps[s]! += 1;
    }
  }

  metrics(slot: number): Record<string, number> {
    return { touches: this.touches[slot]!, goalsFor: this.goalsFor[slot]!, goalsAgainst: this.goalsAgainst[slot]!, ballVelocityToGoal: this.steps[slot]! > 0 ? this.velocitySum[slot]! / this.steps[slot]! : 0 };
  }

  /** Starts the slots of env `env` afresh. */
  clear(env: number): void {
    const from = env * this.numAgents, to = from + this.numAgents;
    for (const arr of [this.touches, this.goalsFor, this.goalsAgainst, this.velocitySum]) arr.fill(0, from, to);
    this.steps.fill(0, from, to);
  }
}
