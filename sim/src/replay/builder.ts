/**
 * Collects an episode frame by frame into a `Replay`. Reward component names may appear as the
 * episode goes (a component first reported at step 10 reads 0 before); browser-safe.
 */
import { REPLAY_FORMAT_VERSION, TRANSFORM_SIZE, ReplayFormatError, type Replay, type ReplayEvent, type ReplayMeta, type ReplayScene } from './format';

export interface ReplayStep {
  /** Component name → value per agent slot (rewards' `info.rewardComponents`). */
  rewards?: Record<string, ArrayLike<number>>;
  /** agents × actionSize values. */
  actions?: ArrayLike<number>;
  events?: Omit<ReplayEvent, 'frame'>[];
}

export class ReplayBuilder {
  private readonly transforms: number[] = [];
  private readonly signals: number[] = [];
  private readonly actions: number[] = [];
  private readonly rewardsByFrame: (Record<string, ArrayLike<number>> | undefined)[] = [];
  private readonly componentNames: string[] = [];
  private readonly events: ReplayEvent[] = [];
  private frames = 0;

  constructor(
    readonly scene: ReplayScene,
    readonly meta: ReplayMeta,
    readonly actionSize: number,
  ) {}

  get frameCount(): number {
    return this.frames;
  }

  /**
   * Appends a frame: the dynamic bodies' transforms, the step that led to it (none for frame 0), and
   * the scene's signals at that frame (all off when a scene with signals gets none).
   */
  addFrame(transforms: ArrayLike<number>, step: ReplayStep = {}, signals?: ArrayLike<number>): void {
    const bodies = this.scene.dynamicBodies.length;
    if (transforms.length !== bodies * TRANSFORM_SIZE) throw new ReplayFormatError(`a frame needs ${bodies * TRANSFORM_SIZE} transform values, got ${transforms.length}`);
    const signalCount = this.scene.signals?.length ?? 0;
    if (signals && signals.length !== signalCount) throw new ReplayFormatError(`a frame needs ${signalCount} signal values, got ${signals.length}`);
    for (let i = 0; i < transforms.length; i++) this.transforms.push(transforms[i]!);
    for (let i = 0; i < signalCount; i++) this.signals.push(signals ? Number(signals[i]) : 0);
    const actionCount = this.scene.agents.length * this.actionSize;
    for (let i = 0; i < actionCount; i++) this.actions.push(step.actions ? Number(step.actions[i] ?? 0) : 0);
    if (step.rewards) {
      for (const name of Object.keys(step.rewards)) if (!this.componentNames.includes(name)) this.componentNames.push(name);
    }
    this.rewardsByFrame.push(step.rewards);
    for (const e of step.events ?? []) this.events.push({ frame: this.frames, ...e });
    this.frames++;
  }

  build(): Replay {
    const agents = this.scene.agents.length;
    const names = this.componentNames;
    const rewards = new Float32Array(this.frames * agents * names.length);
    this.rewardsByFrame.forEach((frameRewards, f) => {
      if (!frameRewards) return;
      names.forEach((name, c) => {
        const values = frameRewards[name];
        if (!values) return;
        for (let a = 0; a < agents; a++) rewards[(f * agents + a) * names.length + c] = Number(values[a] ?? 0);
      });
    });
    return {
      version: REPLAY_FORMAT_VERSION,
      meta: this.meta,
      scene: this.scene,
      frameCount: this.frames,
      transforms: Float32Array.from(this.transforms),
      componentNames: [...names],
      rewards,
      actionSize: this.actionSize,
      actions: Float32Array.from(this.actions),
      signals: Float32Array.from(this.signals),
      events: [...this.events],
    };
  }
}
