/**
 * The one source of truth for the current time (rerun's time cursor): the 3D view, the timeline, the
 * overlays and the reward plots all read `frame` from here and change it only through `seek`,
 * `step`, `play`/`pause` and `advance`. Time is a fractional frame index, so playback between two
 * recorded frames interpolates.
 */
export const SPEEDS = [0.25, 0.5, 1, 2, 4] as const;

export interface PlaybackState {
  /** Fractional frame index in [0, frameCount − 1]. */
  frame: number;
  playing: boolean;
  speed: number;
}

export type PlaybackListener = (state: Readonly<PlaybackState>) => void;

export class Playback {
  private state: PlaybackState = { frame: 0, playing: false, speed: 1 };
  private readonly listeners = new Set<PlaybackListener>();

  constructor(
    /** Recorded frames. */
    public frameCount = 1,
    /** Frames per second of env time. */
    public hz = 30,
  ) {}

  get frame(): number {
    return this.state.frame;
  }
  get playing(): boolean {
    return this.state.playing;
  }
  get speed(): number {
    return this.state.speed;
  }
  get lastFrame(): number {
    return Math.max(0, this.frameCount - 1);
  }
  /** Env time in seconds at the cursor. */
  get seconds(): number {
    return this.state.frame / this.hz;
  }

  /** A new replay: cursor back to 0 (or `frame`), paused unless told to play. */
  load(frameCount: number, hz: number, frame = 0): void {
    this.frameCount = frameCount;
    this.hz = hz;
    this.state = { ...this.state, frame: this.clamp(frame), playing: false };
    this.emit();
  }

  subscribe(listener: PlaybackListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  seek(frame: number): void {
    const next = this.clamp(frame);
    if (next === this.state.frame) return;
    this.state.frame = next;
    this.emit();
  }

  seekSeconds(seconds: number): void {
    this.seek(seconds * this.hz);
  }

  /** Pauses and moves by whole frames (from the current frame, rounded towards the direction of travel). */
  step(frames: number): void {
    const base = frames > 0 ? Math.floor(this.state.frame) : Math.ceil(this.state.frame);
    this.state.playing = false;
    this.state.frame = this.clamp(base + frames);
    this.emit();
  }

  play(): void {
    if (this.state.playing) return;
    // Playing from the end starts over, as video players do.
    if (this.state.frame >= this.lastFrame) this.state.frame = 0;
    this.state.playing = true;
    this.emit();
  }

  pause(): void {
    if (!this.state.playing) return;
    this.state.playing = false;
    this.emit();
  }

  toggle(): void {
    if (this.state.playing) this.pause();
    else this.play();
  }

  setSpeed(speed: number): void {
    const s = Math.min(SPEEDS[SPEEDS.length - 1], Math.max(SPEEDS[0], speed));
    if (s === this.state.speed) return;
    this.state.speed = s;
    this.emit();
  }

  /** One notch up or down the speed ladder. */
  shiftSpeed(notches: number): void {
    const i = SPEEDS.findIndex((s) => s >= this.state.speed);
    const j = Math.min(SPEEDS.length - 1, Math.max(0, (i < 0 ? SPEEDS.length - 1 : i) + notches));
    this.setSpeed(SPEEDS[j]!);
  }

  /** Advances playing time by `wallSeconds` of real time; stops at the last frame. */
  advance(wallSeconds: number): void {
    if (!this.state.playing || wallSeconds <= 0) return;
    const next = this.state.frame + wallSeconds * this.hz * this.state.speed;
    if (next >= this.lastFrame) {
      this.state.frame = this.lastFrame;
      this.state.playing = false;
    } else {
      this.state.frame = next;
    }
    this.emit();
  }

  private clamp(frame: number): number {
    if (!Number.isFinite(frame)) return 0;
    return Math.min(this.lastFrame, Math.max(0, frame));
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.state);
  }
}
