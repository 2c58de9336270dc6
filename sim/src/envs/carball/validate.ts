/**
 * Validation of carball states handed to `setState` or the custom state setter: every problem is an
 * error naming the field (`cars[1].pos[2]`), so a user's hand-written state fails where it is wrong.
 */
import { CARBALL, type CarballState } from './state';

export class CarballStateError extends Error {
  override name = 'CarballStateError';
  constructor(
    readonly envId: string,
    readonly field: string,
    reason: string,
  ) {
    super(`${envId}: setState: ${field} ${reason}`);
  }
}

/** Margin (uu) allowed beyond the walls for positions (bodies touching a wall sit just inside it). */
const INSIDE_MARGIN_UU = 1;

/**
 * Checks `value` against the carball state shape for a match of `teamSize` per team and returns it
 * typed; cars may come in any order but must cover ids 0 … 2·teamSize − 1 once each with the right team.
 */
export function validateCarballState(envId: string, value: unknown, teamSize: number): CarballState {
  const fail = (field: string, reason: string): never => {
    throw new CarballStateError(envId, field, reason);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, `must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  };
  const num = (v: unknown, field: string): number => {
    if (v === undefined) fail(field, 'is missing');
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `must be a finite number, got ${show(v)}`);
    return v as number;
  };
  const vec = (v: unknown, field: string, n: number): number[] => {
    if (v === undefined) fail(field, 'is missing');
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) fail(field, `must be an array of ${n} numbers, got ${show(v)}`);
    const arr = Array.from(v as ArrayLike<unknown>);
    if (arr.length !== n) fail(field, `must have ${n} entries, got ${arr.length}`);
    return arr.map((x, i) => num(x, `${field}[${i}]`));
  };
  const bool = (v: unknown, field: string): boolean => {
    if (v === undefined) fail(field, 'is missing');
    if (typeof v !== 'boolean') fail(field, `must be a boolean, got ${show(v)}`);
    return v as boolean;
  };
  const inside = (pos: number[], field: string, radius: number): void => {
    const { sideWallX, backWallY, ceilingZ, cornerCut } = CARBALL.arena;
    const { halfWidth, height, netBackY } = CARBALL.goal;
    const [x, y, z] = pos as [number, number, number];
    const m = INSIDE_MARGIN_UU;
    const inGoal = Math.abs(x) <= halfWidth - radius + m && Math.abs(y) <= netBackY - radius + m && z <= height - radius + m;
    const inField = Math.abs(x) <= sideWallX - radius + m && Math.abs(y) <= backWallY - radius + m && Math.abs(x) + Math.abs(y) <= sideWallX + backWallY - cornerCut - radius * Math.SQRT2 + m && z <= ceilingZ - radius + m;
    // Name the coordinate that is out: beyond a side wall or corner cut → x, beyond a back wall → y, else z.
    const axis = Math.abs(y) > backWallY - radius + m && Math.abs(x) <= sideWallX - radius + m && Math.abs(x) + Math.abs(y) <= sideWallX + backWallY - cornerCut ? 1 : z > ceilingZ - radius + m || (Math.abs(y) > backWallY && z > height - radius + m) ? 2 : 0;
    if (z < 0) fail(`${field}[2]`, `is ${z}, below the floor`);
    if (!inGoal && !inField) fail(`${field}[${axis}]`, `puts the body outside the arena (position [${pos.join(', ')}])`);
  };

  const s = obj(value, 'state');
  const tick = num(s.tick, 'tick');
  if (!Number.isInteger(tick) || tick < 0) fail('tick', `must be a non-negative integer, got ${tick}`);
  const score = vec(s.score, 'score', 2);
  score.forEach((g, i) => (Number.isInteger(g) && g >= 0 ? undefined : fail(`score[${i}]`, `must be a non-negative integer, got ${g}`)));
  const b = obj(s.ball, 'ball');
  const ball = { pos: vec(b.pos, 'ball.pos', 3), vel: vec(b.vel, 'ball.vel', 3), angVel: vec(b.angVel, 'ball.angVel', 3) };
  inside(ball.pos, 'ball.pos', CARBALL.ball.radius);
  if (!Array.isArray(s.cars)) fail('cars', `must be an array of ${2 * teamSize} cars, got ${show(s.cars)}`);
  const list = s.cars as unknown[];
  if (list.length !== 2 * teamSize) fail('cars', `must hold ${2 * teamSize} cars for ${teamSize}v${teamSize}, got ${list.length}`);
  const seen = new Set<number>();
  const cars = list.map((raw, i) => {
    const at = `cars[${i}]`;
    const c = obj(raw, at);
    const id = num(c.id, `${at}.id`);
    if (!Number.isInteger(id) || id < 0 || id >= 2 * teamSize) fail(`${at}.id`, `is an unknown car id ${id} (ids are 0 … ${2 * teamSize - 1})`);
    if (seen.has(id)) fail(`${at}.id`, `repeats car id ${id}`);
    seen.add(id);
    const team = num(c.team, `${at}.team`);
    const expectedTeam = id < teamSize ? 0 : 1;
    if (team !== expectedTeam) fail(`${at}.team`, `must be ${expectedTeam} for car id ${id} (team 0 holds ids 0 … ${teamSize - 1}), got ${team}`);
    const pos = vec(c.pos, `${at}.pos`, 3);
    const quat = vec(c.quat, `${at}.quat`, 4);
    if (Math.hypot(...quat) < 1e-6) fail(`${at}.quat`, 'must be a non-zero quaternion');
    const boost = num(c.boost, `${at}.boost`);
    if (boost < 0 || boost > 100) fail(`${at}.boost`, `must be in [0, 100], got ${boost}`);
    const car = {
      id,
      team: expectedTeam as 0 | 1,
      pos,
      vel: vec(c.vel, `${at}.vel`, 3),
      angVel: vec(c.angVel, `${at}.angVel`, 3),
      quat,
      boost,
      onGround: bool(c.onGround, `${at}.onGround`),
      demolished: bool(c.demolished, `${at}.demolished`),
    };
    if (!car.demolished) inside(pos, `${at}.pos`, 0);
    return car;
  });
  return { tick, score: score as [number, number], ball: ball as CarballState['ball'], cars: cars as CarballState['cars'] };
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(v);
  }
}
