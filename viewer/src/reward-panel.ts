/**
 * The reward panel: for one agent, every reward component per step and its running sum, as two uPlot
 * charts over env time that share the playback cursor (a line drawn at the current time; a click
 * seeks). Components are toggled on and off for both charts at once.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Playback } from './playback';
import { agentRewardSeries, type Replay } from './replay-loader';

/** Okabe–Ito and Tableau colours: distinguishable on the dark background and by most colour-blind readers. */
const PALETTE = ['#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7', '#9edae5', '#ff9da7', '#bab0ab', '#8cd17d', '#b07aa1'];

/** Reward values: 3 significant digits, no exponent for everyday magnitudes. */
function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(2) : Number(v.toPrecision(3)).toString();
}

export function componentColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

interface Chart {
  plot: uPlot;
  cursor: HTMLDivElement;
}

export class RewardPanel {
  private charts: Chart[] = [];
  private series: { perStep: Float64Array[]; cumulative: Float64Array[] } | null = null;
  private lastReadoutFrame = -1;
  private replay: Replay | null = null;
  private agent = 0;
  private readonly shown = new Map<string, boolean>();
  private readonly agentSelect: HTMLSelectElement;
  private readonly toggles: HTMLDivElement;
  private readonly plots: HTMLDivElement;
  private lastCursorFrame = -1;

  constructor(
    private readonly root: HTMLElement,
    private readonly playback: Playback,
    private readonly onAgentChange: (agent: number) => void = () => {},
  ) {
    root.classList.add('reward-panel');
    root.innerHTML = `<div class="reward-head"><label>Agent <select class="reward-agent"></select></label><span class="reward-hint">click a plot to seek</span></div><div class="reward-toggles"></div><div class="reward-plots"></div>`;
    this.agentSelect = root.querySelector('.reward-agent')!;
    this.toggles = root.querySelector('.reward-toggles')!;
    this.plots = root.querySelector('.reward-plots')!;
    this.agentSelect.addEventListener('change', () => {
      this.setAgent(Number(this.agentSelect.value));
      this.onAgentChange(this.agent);
    });
    playback.subscribe(() => this.moveCursor());
    new ResizeObserver(() => this.resize()).observe(this.plots);
  }

  get currentAgent(): number {
    return this.agent;
  }

  setReplay(replay: Replay, agent = 0): void {
    this.replay = replay;
    this.agentSelect.innerHTML = '';
    replay.scene.agents.forEach((name, i) => this.agentSelect.append(new Option(`${i}: ${name}`, String(i))));
    this.toggles.innerHTML = '';
    replay.componentNames.forEach((name, c) => {
      if (!this.shown.has(name)) this.shown.set(name, true);
      const label = document.createElement('label');
      label.className = 'reward-toggle';
      label.style.setProperty('--swatch', componentColor(c));
      label.dataset.component = name;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = this.shown.get(name)!;
      box.addEventListener('change', () => this.setShown(name, box.checked));
      const value = document.createElement('span');
      value.className = 'reward-value';
      label.append(box, document.createTextNode(name), value);
      this.toggles.append(label);
    });
    if (!replay.componentNames.length) this.toggles.textContent = 'This replay records no reward components.';
    this.setAgent(Math.min(agent, Math.max(0, replay.scene.agents.length - 1)));
  }

  setAgent(agent: number): void {
    this.agent = agent;
    this.agentSelect.value = String(agent);
    this.rebuild();
  }

  setShown(component: string, shown: boolean): void {
    this.shown.set(component, shown);
    const c = this.replay?.componentNames.indexOf(component) ?? -1;
    if (c < 0) return;
    for (const { plot } of this.charts) plot.setSeries(c + 1, { show: shown });
    const box = this.toggles.querySelector<HTMLInputElement>(`label[data-component="${CSS.escape(component)}"] input`);
    if (box) box.checked = shown;
  }

  private rebuild(): void {
    for (const { plot } of this.charts) plot.destroy();
    this.charts = [];
    this.plots.innerHTML = '';
    const replay = this.replay;
    if (!replay || !replay.componentNames.length || !replay.scene.agents.length) return;
    const hz = replay.meta.hz;
    const xs = Float64Array.from({ length: replay.frameCount }, (_, f) => f / hz);
    const { perStep, cumulative } = agentRewardSeries(replay, this.agent);
    this.series = { perStep, cumulative };
    this.lastReadoutFrame = -1;
    const width = Math.max(200, this.plots.clientWidth || 400);
    for (const [title, columns] of [
      ['reward per step', perStep],
      ['cumulative reward', cumulative],
    ] as const) {
      const holder = document.createElement('div');
      holder.className = 'reward-plot';
      holder.dataset.plot = title;
      this.plots.append(holder);
      const plot = new uPlot(
        {
          title,
          width,
          height: 150,
          legend: { show: false },
          cursor: { drag: { x: false, y: false }, points: { show: false } },
          scales: { x: { time: false } },
          axes: [
            { stroke: '#8b949e', grid: { stroke: '#30363d' }, ticks: { stroke: '#30363d' }, values: (_u, vals) => vals.map((v) => `${v}s`) },
            { stroke: '#8b949e', grid: { stroke: '#30363d' }, ticks: { stroke: '#30363d' }, size: 50 },
          ],
          series: [{ label: 'time' }, ...replay.componentNames.map((name, c) => ({ label: name, stroke: componentColor(c), width: 1.25, show: this.shown.get(name) ?? true, points: { show: false } }))],
        },
        [xs as unknown as number[], ...columns.map((col) => col as unknown as number[])],
        holder,
      );
      const cursor = document.createElement('div');
      cursor.className = 'plot-cursor';
      plot.over.append(cursor);
      plot.over.addEventListener('pointerdown', (e) => {
        const seconds = plot.posToVal(e.offsetX, 'x');
        this.playback.seekSeconds(seconds);
      });
      this.charts.push({ plot, cursor });
    }
    this.lastCursorFrame = -1;
    this.moveCursor();
  }

  /**
   * Each component's reward at the cursor's frame and its sum so far, beside its name. Written while
   * paused or scrubbing only: a dozen text changes per frame would cost playback frames.
   */
  private updateReadout(): void {
    const series = this.series;
    if (!series || this.playback.playing) return;
    const f = Math.round(this.playback.frame);
    if (f === this.lastReadoutFrame) return;
    this.lastReadoutFrame = f;
    this.toggles.querySelectorAll<HTMLElement>('.reward-value').forEach((el, c) => {
      const v = series.perStep[c]?.[f];
      const sum = series.cumulative[c]?.[f];
      el.textContent = v === undefined || sum === undefined ? '' : ` ${fmt(v)} (Σ ${fmt(sum)})`;
    });
  }

  private moveCursor(): void {
    this.updateReadout();
    const frame = this.playback.frame;
    if (frame === this.lastCursorFrame) return;
    this.lastCursorFrame = frame;
    const seconds = this.playback.seconds;
    for (const { plot, cursor } of this.charts) {
      cursor.style.transform = `translateX(${plot.valToPos(seconds, 'x')}px)`;
    }
  }

  private resize(): void {
    const width = this.plots.clientWidth;
    if (!width) return;
    for (const { plot } of this.charts) plot.setSize({ width, height: 150 });
    this.lastCursorFrame = -1;
    this.moveCursor();
  }
}
