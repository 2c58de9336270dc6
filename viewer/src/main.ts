/**
 * The viewer's page: wires the replay loader, the scene, the cameras, the playback clock (the one
 * source of truth for time), the timeline, the overlays, the reward panel, the runs browser and live
 * following. Rendering happens on demand: a frame is drawn only when the time, the camera or the
 * canvas size changed.
 */
import './style.css';
import * as THREE from 'three';
import { ApiClient, fetchBytes, type ReplaySummary, type StreamEvent } from './api';
import { CAMERA_MODES, CameraRig, isCameraMode, type CameraMode } from './cameras';
import { formatDeepLink, parseDeepLink, type DeepLink } from './deep-link';
import { Playback, SPEEDS } from './playback';
import { ReplayLoadError, loadReplay, scoreTimeline, timelineMarkers, type Replay, type TimelineMarker } from './replay-loader';
import { RewardPanel } from './reward-panel';
import { RunsBrowser } from './runs-browser';
import { ReplayScene3D, shaderWarmUpScene } from '@rewardlab/scene3d';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Software rasterisers (SwiftShader, llvmpipe) cannot afford multisampling at 30 fps; GPUs can. */
function createRenderer(): { renderer: THREE.WebGLRenderer; name: string; antialias: boolean } {
  const params = new URLSearchParams(location.search);
  const make = (antialias: boolean): THREE.WebGLRenderer => new THREE.WebGLRenderer({ antialias, powerPreference: 'high-performance' });
  // Start without multisampling and ask the context what it runs on: creating a context is slow under
  // software rendering, so a second one is made only for a GPU, which can afford antialiasing.
  let renderer = make(params.get('aa') === '1');
  const gl = renderer.getContext();
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  const antialias = params.has('aa') ? params.get('aa') === '1' : !/swiftshader|llvmpipe|software|softpipe/i.test(name);
  if (antialias && params.get('aa') !== '1') {
    renderer.dispose();
    renderer.forceContextLoss();
    renderer = make(true);
  }
  return { renderer, name, antialias };
}

function formatClock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}

/** What the tests and `rewardlab bench viewer` read from the page. */
export interface ViewerProbe {
  /** ms from navigation start to the first rendered frame of the first replay; null before. */
  loadMs: number | null;
  framesRendered: number;
  /** Draws the view again; resolves once it is on the canvas. */
  render(): Promise<void>;
  replayName: string | null;
  error: string | null;
  /** The WebGL renderer's name (SwiftShader under software rendering) and whether it antialiases. */
  renderer: string;
  antialias: boolean;
  frame(): number;
  frameCount(): number;
  hz(): number;
  components(): number;
  score(): [number, number] | null;
  componentNames(): string[];
  setBodyVisible(body: number, visible: boolean): void;
  play(speed?: number): void;
  pause(): void;
  seek(frame: number): void;
  setCamera(mode: string): void;
  loadBytes(bytes: Uint8Array, name: string): boolean;
}

class ViewerApp {
  private readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly rig: CameraRig;
  private readonly playback = new Playback();
  private readonly rewardPanel: RewardPanel;
  private readonly runsBrowser: RunsBrowser;
  private readonly api = new ApiClient();
  private replay: Replay | null = null;
  private scene3d: ReplayScene3D | null = null;
  private score: Int32Array | null = null;
  private markers: TimelineMarker[] = [];
  private dirty = true;
  private lastTime = 0;
  private source: DeepLink = {};
  private live: { runId: string; socket: WebSocket | null; closed: boolean } | null = null;
  private hashTimer = 0;
  private readonly view = $('view');
  readonly probe: ViewerProbe;

  constructor() {
    const gl = createRenderer();
    this.renderer = gl.renderer;
    // `?scale=0.5` renders at half resolution (slow software rendering); the default is the screen's.
    const scale = Number(new URLSearchParams(location.search).get('scale'));
    this.renderer.setPixelRatio(scale > 0 && scale <= 2 ? scale : Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.shadowMap.enabled = false;
    this.renderer.domElement.tabIndex = 0;
    this.view.prepend(this.renderer.domElement);
    this.scene.background = new THREE.Color('#0d1117');
    this.rig = new CameraRig(this.renderer.domElement);
    this.rig.controls.addEventListener('change', () => (this.dirty = true));
    this.rewardPanel = new RewardPanel($('rewards'), this.playback, (agent) => {
      // The plotted agent's car is the one the ball and car cams follow.
      const body = this.scene3d?.description.dynamicBodies.findIndex((b) => b.agent === agent) ?? -1;
      if (body >= 0) {
        this.rig.followBody = body;
        this.updateCameraLabel();
        this.dirty = true;
      }
      this.scheduleHash();
    });
    this.runsBrowser = new RunsBrowser($('runs'), this.api, {
      openReplay: (r) => void this.openServerReplay(r, {}),
      follow: (runId) => this.follow(runId),
    });
    this.probe = this.makeProbe();
    this.probe.renderer = gl.name;
    this.probe.antialias = gl.antialias;
    this.buildControls();
    this.playback.subscribe(() => this.onTimeChange());
    new ResizeObserver(() => this.resize()).observe(this.view);
    this.resize();
    void this.renderer.compileAsync(shaderWarmUpScene(), this.rig.camera).catch(() => {});
    requestAnimationFrame((t) => this.loop(t));
  }

  private readonly renderWaiters: (() => void)[] = [];

  // ---- loading -------------------------------------------------------------------------------

  /** Shows a replay from bytes; a bad file leaves the current replay playing and says why. */
  loadBytes(bytes: Uint8Array, name: string, options: { t?: number; play?: boolean } = {}): boolean {
    let replay: Replay;
    performance.mark('rewardlab:decode-start');
    try {
      replay = loadReplay(bytes);
    } catch (err) {
      const message = err instanceof ReplayLoadError ? err.message : `unexpected error: ${(err as Error).message}`;
      this.showMessage(`Cannot open ${name}: ${message}`);
      return false;
    }
    performance.mark('rewardlab:decoded');
    const scene3d = new ReplayScene3D(replay.scene);
    this.scene3d?.dispose();
    if (this.scene3d) this.scene.remove(this.scene3d.root);
    this.scene3d = scene3d;
    this.replay = replay;
    this.scene.add(scene3d.root);
    this.scene.background = scene3d.background;
    this.rig.attach(scene3d);
    this.score = scoreTimeline(replay);
    this.markers = timelineMarkers(replay);
    this.probe.replayName = name;
    this.probe.error = null;
    this.hideMessage();
    $('empty').hidden = true;
    $('score').hidden = this.score === null;
    const meta = replay.meta;
    $('replay-title').textContent = `${name} · ${meta.envId} · ${replay.frameCount} frames at ${meta.hz} Hz${meta.episode !== undefined ? ` · episode ${meta.episode}` : ''}${meta.step !== undefined ? ` · step ${meta.step}` : ''}`;
    this.fillFollowSelect();
    this.renderMarkers();
    const scrubber = $<HTMLInputElement>('scrubber');
    scrubber.max = String(replay.frameCount - 1);
    this.shown.clear();
    performance.mark('rewardlab:scene-built');
    this.rewardPanel.setReplay(replay, this.source.agent ?? this.rewardPanel.currentAgent);
    performance.mark('rewardlab:plotted');
    this.playback.load(replay.frameCount, replay.meta.hz, (options.t ?? 0) * replay.meta.hz);
    if (options.play) this.playback.play();
    this.dirty = true;
    return true;
  }

  private async loadUrl(url: string, name: string, options: { t?: number; play?: boolean } = {}): Promise<boolean> {
    this.showMessage(`Loading ${name}…`, 'info');
    try {
      const prefetch = window.rewardlabPrefetch;
      window.rewardlabPrefetch = undefined;
      let bytes: Uint8Array;
      if (prefetch?.src === url) {
        try {
          bytes = new Uint8Array(await prefetch.bytes);
        } catch (err) {
          throw new Error(`could not fetch ${url} (${(err as Error).message})`);
        }
      } else bytes = await fetchBytes(url);
      return this.loadBytes(bytes, name, options);
    } catch (err) {
      this.showMessage(`Cannot open ${name}: ${(err as Error).message}`);
      return false;
    }
  }

  private async openServerReplay(r: ReplaySummary, options: { t?: number; play?: boolean }): Promise<void> {
    this.source = { ...this.source, run: r.runId, episode: r.episode, replay: r.id, src: undefined };
    if (await this.loadUrl(this.api.replayUrl(r.id), `run ${r.runId.slice(0, 8)} episode ${r.episode}`, options)) this.scheduleHash();
  }

  /** Opens what the URL fragment names. */
  async openDeepLink(link: DeepLink): Promise<void> {
    this.source = link;
    if (isCameraMode(link.cam)) this.setCamera(link.cam);
    if (link.src) {
      await this.loadUrl(link.src, link.src.split('/').pop() || link.src, { t: link.t });
      return;
    }
    if (link.live && link.run) {
      $('runs').hidden = false;
      await this.runsBrowser.refresh();
      await this.runsBrowser.select(link.run);
      this.follow(link.run);
      return;
    }
    if (link.run) {
      $('runs').hidden = false;
      await this.runsBrowser.refresh();
      const replays = await this.runsBrowser.select(link.run);
      const match = replays.filter((r) => (link.replay ? r.id === link.replay : link.episode === undefined || r.episode === link.episode));
      const chosen = match[match.length - 1];
      if (chosen) await this.openServerReplay(chosen, { t: link.t });
      else this.showMessage(`Run ${link.run} has no recorded episode${link.episode !== undefined ? ` ${link.episode}` : ''}.`);
      return;
    }
    if (link.replay) {
      await this.loadUrl(this.api.replayUrl(link.replay), `replay ${link.replay.slice(0, 8)}`, { t: link.t });
    }
  }

  // ---- live mode -----------------------------------------------------------------------------

  /** Follows a running training: loads each newly recorded episode as the stream announces it. */
  follow(runId: string): void {
    this.stopFollowing();
    const live = { runId, socket: null as WebSocket | null, closed: false };
    this.live = live;
    $('live-badge').hidden = false;
    this.source = { run: runId, live: true };
    this.scheduleHash();
    const connect = (): void => {
      if (live.closed) return;
      live.socket = this.api.stream(
        runId,
        (e) => this.onStreamEvent(e),
        () => {
          if (live.closed) return;
          $('live-badge').textContent = '● LIVE (reconnecting)';
          setTimeout(connect, 3000);
        },
      );
      live.socket.addEventListener('open', () => ($('live-badge').textContent = '● LIVE'));
    };
    connect();
    // The latest episode recorded so far, while the stream waits for the next one.
    void this.api.replays(runId).then(
      (replays) => {
        const latest = replays[replays.length - 1];
        if (latest && this.live === live && this.replay?.meta.episode !== latest.episode) void this.openServerReplay(latest, { play: true });
      },
      (err: Error) => this.showMessage(err.message),
    );
  }

  stopFollowing(): void {
    if (!this.live) return;
    this.live.closed = true;
    this.live.socket?.close();
    this.live = null;
    $('live-badge').hidden = true;
  }

  private onStreamEvent(e: StreamEvent): void {
    if (!this.live || !('runId' in e) || e.runId !== this.live.runId) return;
    if (e.type === 'metrics') this.runsBrowser.addMetrics(e.runId, e.batch);
    else if (e.type === 'replay') void this.openServerReplay(e.replay, { play: true });
    else if (e.type === 'episode') $('live-badge').textContent = `● LIVE · episode ${e.episode} · return ${e.return.toFixed(2)}`;
    else if (e.type === 'status' && e.status !== 'running') $('live-badge').textContent = `● ${e.status}`;
  }

  // ---- time ----------------------------------------------------------------------------------

  /** Overlay text as last written: the page is touched only when a value changes (every write costs a relayout and a repaint). */
  private readonly shown = new Map<string, string>();

  private show(id: string, text: string, property: 'textContent' | 'value' = 'textContent'): void {
    const key = `${id}.${property}`;
    if (this.shown.get(key) === text) return;
    this.shown.set(key, text);
    ($(id) as HTMLInputElement)[property] = text;
  }

  private onTimeChange(): void {
    this.dirty = true;
    const replay = this.replay;
    if (!replay) return;
    const frame = this.playback.frame;
    const whole = Math.round(frame);
    this.show('scrubber', String(whole), 'value');
    this.show('frame-label', `${whole} / ${replay.frameCount - 1}`);
    this.show('clock', formatClock(this.playback.seconds));
    this.show('play', this.playback.playing ? '❚❚' : '▶');
    this.show('speed', String(this.playback.speed), 'value');
    if (this.score) {
      // The score shown is the one after the last whole frame reached.
      const f = Math.floor(frame);
      this.show('score-blue', String(this.score[f * 2]));
      this.show('score-orange', String(this.score[f * 2 + 1]));
    }
    if (!this.playback.playing) this.scheduleHash();
  }

  private scheduleHash(): void {
    clearTimeout(this.hashTimer);
    this.hashTimer = window.setTimeout(() => {
      if (!this.replay || this.source.src === undefined && this.source.run === undefined && this.source.replay === undefined) return;
      const link: DeepLink = { ...this.source, t: this.playback.playing || this.source.live ? undefined : this.playback.seconds, cam: this.rig.mode === 'orbit' ? undefined : this.rig.mode, agent: this.rewardPanel.currentAgent || undefined };
      const hash = formatDeepLink(link);
      if (hash !== location.hash) history.replaceState(null, '', hash || location.pathname + location.search);
    }, 300);
  }

  private loop(now: number): void {
    const dt = this.lastTime ? (now - this.lastTime) / 1000 : 0;
    this.lastTime = now;
    // A long pause between animation frames (a hidden tab) is not played through.
    this.playback.advance(Math.min(dt, 0.25));
    if (this.rig.mode === 'orbit') this.rig.controls.update();
    if (this.dirty && this.replay && this.scene3d) {
      this.dirty = false;
      this.scene3d.applyFrame(this.replay, this.playback.frame);
      this.rig.update();
      this.renderer.render(this.scene, this.rig.camera);
      this.probe.framesRendered++;
      if (this.probe.loadMs === null) {
        this.probe.loadMs = performance.now();
        performance.mark('rewardlab:first-frame');
      }
      for (const done of this.renderWaiters.splice(0)) done();
    }
    requestAnimationFrame((t) => this.loop(t));
  }

  private resize(): void {
    const w = this.view.clientWidth;
    const h = this.view.clientHeight;
    if (!w || !h) return;
    this.renderer.setSize(w, h, false);
    this.rig.resize(w, h);
    this.dirty = true;
  }

  // ---- controls ------------------------------------------------------------------------------

  private setCamera(mode: CameraMode): void {
    this.rig.setMode(mode);
    $<HTMLSelectElement>('camera').value = mode;
    this.updateCameraLabel();
    this.dirty = true;
    this.scheduleHash();
  }

  private updateCameraLabel(): void {
    const body = this.scene3d?.description.dynamicBodies[this.rig.followBody];
    const follows = this.rig.mode === 'ball' || this.rig.mode === 'car';
    $('camera-label').textContent = `${this.rig.mode} camera${follows && body ? ` · ${body.name}` : ''}`;
    $<HTMLSelectElement>('follow').value = String(this.rig.followBody);
  }

  private fillFollowSelect(): void {
    const select = $<HTMLSelectElement>('follow');
    select.innerHTML = '';
    const desc = this.scene3d!.description;
    for (const b of this.rig.followableBodies()) select.append(new Option(desc.dynamicBodies[b]!.name, String(b)));
    select.hidden = select.options.length === 0;
    this.updateCameraLabel();
  }

  private renderMarkers(): void {
    const holder = $('markers');
    holder.innerHTML = '';
    const last = Math.max(1, (this.replay?.frameCount ?? 1) - 1);
    for (const m of this.markers) {
      const b = document.createElement('button');
      b.className = `marker marker-${m.type}`;
      b.style.left = `${(m.frame / last) * 100}%`;
      b.title = `${m.label} · ${formatClock(m.frame / this.playback.hz)}`;
      b.dataset.frame = String(m.frame);
      b.dataset.type = m.type;
      b.addEventListener('click', () => this.playback.seek(m.frame));
      holder.append(b);
    }
  }

  private jumpToEvent(direction: 1 | -1, type?: TimelineMarker['type']): void {
    const now = Math.round(this.playback.frame);
    const candidates = this.markers.filter((m) => !type || m.type === type);
    const target = direction > 0 ? candidates.find((m) => m.frame > now) : [...candidates].reverse().find((m) => m.frame < now);
    if (target) {
      this.playback.pause();
      this.playback.seek(target.frame);
    }
  }

  private buildControls(): void {
    const speed = $<HTMLSelectElement>('speed');
    for (const s of SPEEDS) speed.append(new Option(`${s}×`, String(s)));
    speed.value = '1';
    speed.addEventListener('change', () => this.playback.setSpeed(Number(speed.value)));
    const camera = $<HTMLSelectElement>('camera');
    const cameraNames: Record<CameraMode, string> = { orbit: 'Orbit', ball: 'Ball cam', car: 'Car cam', top: 'Top-down' };
    for (const m of CAMERA_MODES) camera.append(new Option(cameraNames[m], m));
    camera.addEventListener('change', () => this.setCamera(camera.value as CameraMode));
    const follow = $<HTMLSelectElement>('follow');
    follow.addEventListener('change', () => {
      this.rig.followBody = Number(follow.value);
      this.updateCameraLabel();
      this.dirty = true;
    });
    $('play').addEventListener('click', () => this.playback.toggle());
    $('step-back').addEventListener('click', () => this.playback.step(-1));
    $('step-forward').addEventListener('click', () => this.playback.step(1));
    const scrubber = $<HTMLInputElement>('scrubber');
    scrubber.addEventListener('input', () => this.playback.seek(Number(scrubber.value)));
    $('toggle-runs').addEventListener('click', () => this.toggleRuns());
    $('help-button').addEventListener('click', () => ($('help').hidden = !$('help').hidden));
    $('message').addEventListener('click', () => this.hideMessage());
    const input = $<HTMLInputElement>('file-input');
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (file) void this.openFile(file);
      input.value = '';
    });
    window.addEventListener('dragover', (e) => {
      e.preventDefault();
      this.view.classList.add('dragging');
    });
    window.addEventListener('dragleave', () => this.view.classList.remove('dragging'));
    window.addEventListener('drop', (e) => {
      e.preventDefault();
      this.view.classList.remove('dragging');
      const file = e.dataTransfer?.files[0];
      if (file) void this.openFile(file);
    });
    window.addEventListener('keydown', (e) => this.onKey(e));
    window.addEventListener('hashchange', () => {
      const link = parseDeepLink(location.hash);
      const same = link.run === this.source.run && link.replay === this.source.replay && link.src === this.source.src && link.episode === this.source.episode && !!link.live === !!this.source.live;
      if (same) {
        if (link.t !== undefined && this.replay) this.playback.seekSeconds(link.t);
        if (isCameraMode(link.cam)) this.setCamera(link.cam);
      } else {
        this.stopFollowing();
        void this.openDeepLink(link);
      }
    });
  }

  private async openFile(file: File): Promise<void> {
    this.stopFollowing();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (this.loadBytes(bytes, file.name)) {
      this.source = {};
      history.replaceState(null, '', location.pathname + location.search);
    }
  }

  private toggleRuns(): void {
    const runs = $('runs');
    runs.hidden = !runs.hidden;
    if (!runs.hidden) void this.runsBrowser.refresh();
  }

  private onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement | null;
    if (target && (target.tagName === 'INPUT' && (target as HTMLInputElement).type !== 'range' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const pb = this.playback;
    let handled = true;
    switch (e.key) {
      case ' ':
      case 'k':
        pb.toggle();
        break;
      case 'ArrowLeft':
        if (e.shiftKey) {
          pb.pause();
          pb.seek(pb.frame - pb.hz);
        } else pb.step(-1);
        break;
      case 'ArrowRight':
        if (e.shiftKey) {
          pb.pause();
          pb.seek(pb.frame + pb.hz);
        } else pb.step(1);
        break;
      case ',':
        pb.step(-1);
        break;
      case '.':
        pb.step(1);
        break;
      case '[':
      case '-':
        pb.shiftSpeed(-1);
        break;
      case ']':
      case '+':
      case '=':
        pb.shiftSpeed(1);
        break;
      case 'Home':
        pb.seek(0);
        break;
      case 'End':
        pb.seek(pb.lastFrame);
        break;
      case 'n':
        this.jumpToEvent(1);
        break;
      case 'p':
        this.jumpToEvent(-1);
        break;
      case 'g':
        this.jumpToEvent(1, 'goal');
        break;
      case '1':
      case '2':
      case '3':
      case '4':
        this.setCamera(CAMERA_MODES[Number(e.key) - 1]!);
        break;
      case 'c':
        this.setCamera(CAMERA_MODES[(CAMERA_MODES.indexOf(this.rig.mode) + 1) % CAMERA_MODES.length]!);
        break;
      case 'Tab':
        this.rig.followNext(e.shiftKey ? -1 : 1);
        this.updateCameraLabel();
        this.dirty = true;
        break;
      case 'r':
        this.toggleRuns();
        break;
      case '?':
        $('help').hidden = !$('help').hidden;
        break;
      case 'Escape':
        $('help').hidden = true;
        this.hideMessage();
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  }

  // ---- messages ------------------------------------------------------------------------------

  showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
    const box = $('message');
    box.textContent = text;
    box.className = `message ${kind}`;
    box.hidden = false;
    if (kind === 'error') this.probe.error = text;
  }

  hideMessage(): void {
    $('message').hidden = true;
  }

  private makeProbe(): ViewerProbe {
    return {
      loadMs: null,
      framesRendered: 0,
      render: () =>
        new Promise<void>((done) => {
          this.renderWaiters.push(done);
          this.dirty = true;
        }),
      replayName: null,
      error: null,
      renderer: '',
      antialias: false,
      frame: () => this.playback.frame,
      frameCount: () => this.replay?.frameCount ?? 0,
      hz: () => this.replay?.meta.hz ?? 0,
      components: () => this.replay?.componentNames.length ?? 0,
      score: () => {
        if (!this.score) return null;
        const f = Math.floor(this.playback.frame);
        return [this.score[f * 2]!, this.score[f * 2 + 1]!];
      },
      componentNames: () => this.replay?.componentNames ?? [],
      setBodyVisible: (body, visible) => {
        this.scene3d?.setBodyVisible(body, visible);
        this.dirty = true;
      },
      play: (speed) => {
        if (speed !== undefined) this.playback.setSpeed(speed);
        this.playback.play();
      },
      pause: () => this.playback.pause(),
      seek: (frame) => this.playback.seek(frame),
      setCamera: (mode) => {
        if (isCameraMode(mode)) this.setCamera(mode);
      },
      loadBytes: (bytes, name) => this.loadBytes(bytes, name),
    };
  }
}

declare global {
  interface Window {
    rewardlab?: ViewerProbe;
    /** Started by index.html for `#src=` links. */
    rewardlabPrefetch?: { src: string; bytes: Promise<ArrayBuffer> };
  }
}

const app = new ViewerApp();
window.rewardlab = app.probe;
const link = parseDeepLink(location.hash);
if (link.run || link.replay || link.src) void app.openDeepLink(link);
else {
  // With a server, show its runs; without one, the page is a drop target for replay files.
  const runs = new ApiClient();
  void runs.runs(1).then(
    () => document.getElementById('toggle-runs')!.click(),
    () => {},
  );
}
