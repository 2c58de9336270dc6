/** Small envs for the tests: a correct multi-agent env and deliberately broken single-agent ones. */
import { assertActions, BaseEnv, box, discrete, parseResetParams, Rng, type MultiAgentEnv, type MultiAgentStepResult, type ResetParams, type ResetResult, type StepResult } from '../src';

/** Two agents on a line each try to reach position 0; episode ends after `length` steps. */
export class LineWalkers implements MultiAgentEnv<number> {
  readonly id = 'LineWalkers-test';
  readonly agents = ['walker-0', 'walker-1'];
  readonly observationSpace = box([2], -100, 100);
  readonly actionSpace = discrete(3);
  private pos = [0, 0];
  private t = 0;
  private rng = new Rng(0);
  constructor(readonly length = 5) {}
  reset(params?: ResetParams) {
    const { seed } = parseResetParams(this.id, params);
    if (seed !== undefined) this.rng = new Rng(seed);
    this.pos = [this.rng.integer(11) - 5, this.rng.integer(11) - 5];
    this.t = 0;
    return { obs: this.observe(), info: {} };
  }
  step(actions: readonly number[]): MultiAgentStepResult {
    assertActions(this.id, this.actionSpace, actions, 2);
    this.pos = this.pos.map((p, i) => p + actions[i]! - 1);
    this.t += 1;
    return { obs: this.observe(), reward: this.pos.map((p) => -Math.abs(p)), terminated: false, truncated: this.t >= this.length, info: { agents: this.pos.map((p) => ({ isSuccess: p === 0 })) } };
  }
  private observe(): Float32Array[] {
    return this.pos.map((p, i) => Float32Array.of(p, this.pos[1 - i]!));
  }
  close(): void {}
}

/** A correct single-agent env that the broken variants below change in one way each. */
export class CountdownEnv extends BaseEnv<number> {
  readonly id: string = 'Countdown-test';
  readonly observationSpace = box([2], -10, 10);
  readonly actionSpace = discrete(2);
  protected value = 0;
  protected left = 0;
  reset(params?: ResetParams): ResetResult {
    this.beginReset(params);
    this.value = this.random.uniform(-1, 1);
    this.left = 8;
    return { obs: this.observe(), info: {} };
  }
  step(action: number): StepResult {
    this.checkAction(action);
    this.value += action === 1 ? 0.5 : -0.5;
    this.left -= 1;
    return { obs: this.observe(), reward: -Math.abs(this.value), terminated: this.left === 0, truncated: false, info: {} };
  }
  protected observe(): Float32Array {
    return Float32Array.of(this.value, this.left);
  }
}

export class WrongShapeEnv extends CountdownEnv {
  override readonly id = 'WrongShape-test';
  protected override observe(): Float32Array {
    return Float32Array.of(this.value, this.left, 0);
  }
}

/** Ignores the seed: every reset draws from a stream that is never reseeded. */
export class UnseededEnv extends CountdownEnv {
  override readonly id = 'Unseeded-test';
  private static shared = new Rng(123);
  override reset(params?: ResetParams): ResetResult {
    this.beginReset(params);
    this.value = UnseededEnv.shared.uniform(-1, 1);
    this.left = 8;
    return { obs: this.observe(), info: {} };
  }
}

/** Lets the value drift past the box's bound of 10. */
export class OutOfBoundsEnv extends CountdownEnv {
  override readonly id = 'OutOfBounds-test';
  override step(action: number): StepResult {
    const r = super.step(action);
    (r.obs as Float32Array)[0] = 12.5;
    return r;
  }
}

/** Never validates its actions. */
export class LaxActionEnv extends CountdownEnv {
  override readonly id = 'LaxAction-test';
  override step(action: number): StepResult {
    this.value += action;
    this.left -= 1;
    return { obs: this.observe(), reward: 0, terminated: this.left <= 0, truncated: false, info: {} };
  }
}

/** Returns one buffer that it overwrites on every call, without declaring it. */
export class SharedBufferEnv extends CountdownEnv {
  override readonly id = 'SharedBuffer-test';
  private buf = new Float32Array(2);
  protected override observe(): Float32Array {
    this.buf[0] = this.value;
    this.buf[1] = this.left;
    return this.buf;
  }
}
