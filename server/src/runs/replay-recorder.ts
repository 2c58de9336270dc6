/**
 * Records every Nth episode of one env into `@rewardlab/sim` replay files: a wrapper that reads the
 * unwrapped env's public state after reset and each step, with the step's reward components
 * (`info.rewardComponents`), actions and carball events (`info.agents[slot].events`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayBuilder, Wrapper, encodeReplay, mapMaybe, replaySourceFor, type AnyEnv, type ReplaySource, type ReplayStep } from '@rewardlab/sim';

export interface RecordedEpisode {
  path: string;
  episode: number;
  frames: number;
  bytes: number;
  episodeReturn: number;
  length: number;
}

export interface ReplayRecorderOptions {
  dir: string;
  /** Record episodes 0, N, 2N, … (0: record none, but still report episodes). */
  every: number;
  kind: string;
  meta: () => { step: number; runId?: string; seed?: number; reward?: string };
  onEpisode?: (episode: { episode: number; return: number; length: number }) => void;
  onRecorded?: (recorded: RecordedEpisode) => void;
}

function flattenAction(action: unknown, out: number[]): void {
  if (typeof action === 'number') out.push(action);
  else if (ArrayBuffer.isView(action)) out.push(...Array.from(action as unknown as ArrayLike<number>));
  else if (Array.isArray(action)) for (const a of action) flattenAction(a, out);
}

export class ReplayRecorder extends Wrapper {
  private readonly source: ReplaySource | null;
  private builder: ReplayBuilder | null = null;
  private firstFrame: { transforms: Float32Array; signals?: Float32Array } | null = null;
  private episode = -1;
  private episodeReturn = 0;
  private length = 0;

  constructor(
    env: AnyEnv,
    private readonly options: ReplayRecorderOptions,
  ) {
    super(env);
    this.source = replaySourceFor(env.id, this.unwrapped, env.metadata?.secondsPerStep);
    mkdirSync(options.dir, { recursive: true });
  }

  private get recording(): boolean {
    return this.source !== null && this.options.every > 0 && this.episode % this.options.every === 0;
  }

  override reset(params?: Parameters<Wrapper['reset']>[0]): ReturnType<Wrapper['reset']> {
    return mapMaybe(super.reset(params), (r) => {
      this.episode++;
      this.episodeReturn = 0;
      this.length = 0;
      this.builder = null;
      this.firstFrame = this.recording ? { transforms: Float32Array.from(this.source!.transforms()), signals: this.source!.signals?.() } : null;
      return r;
    });
  }

  override step(action: unknown): ReturnType<Wrapper['step']> {
    return mapMaybe(super.step(action), (r) => {
      const rewards = Array.isArray(r.reward) ? r.reward : [r.reward];
      this.episodeReturn += rewards.reduce((a, b) => a + b, 0) / rewards.length;
      this.length++;
      if (this.firstFrame) this.addFrame(action, r.info, rewards);
      if (r.terminated || r.truncated) this.finish();
      return r;
    });
  }

  private addFrame(action: unknown, info: Record<string, unknown>, rewards: number[]): void {
    const source = this.source!;
    const actions: number[] = [];
    flattenAction(action, actions);
    if (!this.builder) {
      const scene = source.scene();
      const agents = scene.agents.length;
      const m = this.options.meta();
      this.builder = new ReplayBuilder(scene, { envId: this.id, hz: source.hz, episode: this.episode, kind: this.options.kind, createdAt: new Date().toISOString(), ...m }, Math.max(1, Math.round(actions.length / agents)));
      this.builder.addFrame(this.firstFrame!.transforms, {}, this.firstFrame!.signals);
    }
    const step: ReplayStep = { actions, rewards: (info.rewardComponents as Record<string, number[]> | undefined) ?? { reward: rewards } };
    const perAgent = info.agents as { events?: Record<string, number> }[] | undefined;
    if (Array.isArray(perAgent)) {
      step.events = perAgent.flatMap((a, agent) => Object.entries(a?.events ?? {}).filter(([, v]) => v).map(([type, value]) => ({ agent, type, value })));
    }
    this.builder.addFrame(source.transforms(), step, source.signals?.());
  }

  private finish(): void {
    const episode = { episode: this.episode, return: this.episodeReturn, length: this.length };
    this.options.onEpisode?.(episode);
    if (this.builder) {
      const bytes = encodeReplay(this.builder.build());
      const path = join(this.options.dir, `${this.options.kind}-episode-${String(this.episode).padStart(6, '0')}.rlr`);
      writeFileSync(path, bytes);
      this.options.onRecorded?.({ path, episode: this.episode, frames: this.builder.frameCount, bytes: bytes.length, episodeReturn: this.episodeReturn, length: this.length });
    }
    this.builder = null;
    this.firstFrame = null;
  }

  /** The recorder as an env (multi-agent envs stay multi-agent: `isMultiAgent` sees `agents` through wrappers). */
  static wrap(env: AnyEnv, options: ReplayRecorderOptions): AnyEnv {
    return new ReplayRecorder(env, options) as unknown as AnyEnv;
  }
}
