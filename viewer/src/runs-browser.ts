/**
 * The runs browser: the server's runs, the selected run's recorded episodes and its training curve
 * (mean episode return per training step), with a second run's curve overlaid for comparison. Live
 * metrics from the stream extend the curves as they arrive.
 */
import uPlot from 'uplot';
import type { ApiClient, MetricBatch, ReplaySummary, RunSummary } from './api';
import { mergeCurves } from './curves';

export interface RunsBrowserEvents {
  openReplay(replay: ReplaySummary): void;
  follow(runId: string): void;
}

const CURVE_COLORS = ['#58a6ff', '#f0883e'];

export class RunsBrowser {
  private runs: RunSummary[] = [];
  private selected: string | null = null;
  private compared: string | null = null;
  private readonly curves = new Map<string, MetricBatch[]>();
  private plot: uPlot | null = null;
  private readonly list: HTMLElement;
  private readonly detail: HTMLElement;
  private readonly status: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: ApiClient,
    private readonly events: RunsBrowserEvents,
  ) {
    root.innerHTML = `<div class="runs-head"><strong>Runs</strong> <button class="runs-refresh" title="Reload the runs">↻</button></div><div class="runs-status"></div><ul class="runs-list"></ul><div class="run-detail"></div>`;
    this.list = root.querySelector('.runs-list')!;
    this.detail = root.querySelector('.run-detail')!;
    this.status = root.querySelector('.runs-status')!;
    root.querySelector('.runs-refresh')!.addEventListener('click', () => void this.refresh());
  }

  get selectedRun(): string | null {
    return this.selected;
  }

  async refresh(): Promise<boolean> {
    try {
      this.runs = await this.api.runs();
    } catch (err) {
      this.status.textContent = `No runs from the API (${(err as Error).message}). Open or drop a .rlr replay file instead.`;
      this.runs = [];
      this.renderList();
      return false;
    }
    this.status.textContent = this.runs.length ? '' : 'No runs yet: start one with `rewardlab train` or POST /api/runs.';
    this.renderList();
    return true;
  }

  private renderList(): void {
    this.list.innerHTML = '';
    for (const run of this.runs) {
      const li = document.createElement('li');
      li.className = 'run-item';
      li.dataset.run = run.id;
      if (run.id === this.selected) li.classList.add('selected');
      const open = document.createElement('button');
      open.className = 'run-open';
      open.textContent = `${run.env} · ${run.algo} · ${run.status}`;
      open.title = `${run.id}\nstep ${run.step} / ${run.steps}, mean return ${run.meanReturn ?? '–'}`;
      open.addEventListener('click', () => void this.select(run.id));
      const compare = document.createElement('label');
      compare.className = 'run-compare';
      compare.title = 'Overlay this run’s training curve';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = run.id === this.compared;
      box.disabled = run.id === this.selected;
      box.addEventListener('change', () => void this.compare(box.checked ? run.id : null));
      compare.append(box, document.createTextNode('vs'));
      li.append(open, compare);
      this.list.append(li);
    }
  }

  async select(runId: string): Promise<ReplaySummary[]> {
    this.selected = runId;
    if (this.compared === runId) this.compared = null;
    this.renderList();
    this.detail.innerHTML = `<div class="run-curve"></div><div class="run-actions"><button class="run-follow">Follow live</button></div><ul class="replay-list"></ul>`;
    this.detail.querySelector('.run-follow')!.addEventListener('click', () => this.events.follow(runId));
    let replays: ReplaySummary[] = [];
    try {
      const [metrics, list] = await Promise.all([this.api.metrics(runId), this.api.replays(runId)]);
      this.curves.set(runId, metrics);
      replays = list;
    } catch (err) {
      this.detail.querySelector('.replay-list')!.textContent = (err as Error).message;
      return [];
    }
    this.renderReplays(replays);
    this.renderCurves();
    return replays;
  }

  private renderReplays(replays: ReplaySummary[]): void {
    const ul = this.detail.querySelector('.replay-list')!;
    ul.innerHTML = '';
    if (!replays.length) ul.textContent = 'No recorded episodes yet.';
    for (const r of [...replays].reverse()) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.className = 'replay-open';
      b.dataset.replay = r.id;
      b.textContent = `${r.kind} episode ${r.episode} · step ${r.step} · return ${r.episodeReturn === null ? '–' : r.episodeReturn.toFixed(2)} · ${r.frames} frames`;
      b.addEventListener('click', () => this.events.openReplay(r));
      li.append(b);
      ul.append(li);
    }
  }

  async compare(runId: string | null): Promise<void> {
    this.compared = runId;
    if (runId && !this.curves.has(runId)) {
      try {
        this.curves.set(runId, await this.api.metrics(runId));
      } catch (err) {
        this.status.textContent = (err as Error).message;
      }
    }
    this.renderList();
    this.renderCurves();
  }

  /** Live metrics: extend a run's curve if it is shown. */
  addMetrics(runId: string, batch: MetricBatch): void {
    const curve = this.curves.get(runId);
    if (!curve || curve.some((b) => b.step === batch.step)) return;
    curve.push(batch);
    if (runId === this.selected || runId === this.compared) this.renderCurves();
  }

  private renderCurves(): void {
    const holder = this.detail.querySelector<HTMLElement>('.run-curve');
    if (!holder || !this.selected) return;
    const ids = [this.selected, ...(this.compared ? [this.compared] : [])];
    const data = mergeCurves(ids.map((id) => (this.curves.get(id) ?? []).map((b) => ({ step: b.step, value: b.meanReturn }))));
    const label = (id: string): string => {
      const run = this.runs.find((r) => r.id === id);
      return run ? `${run.env} ${id.slice(0, 8)}` : id.slice(0, 8);
    };
    this.plot?.destroy();
    holder.innerHTML = '';
    if (!data[0].length) {
      holder.textContent = 'No training metrics yet.';
      this.plot = null;
      return;
    }
    this.plot = new uPlot(
      {
        title: 'mean episode return',
        width: Math.max(220, holder.clientWidth || 300),
        height: 160,
        scales: { x: { time: false } },
        axes: [
          { stroke: '#8b949e', grid: { stroke: '#30363d' }, label: 'step' },
          { stroke: '#8b949e', grid: { stroke: '#30363d' }, size: 50 },
        ],
        series: [{ label: 'step' }, ...ids.map((id, i) => ({ label: label(id), stroke: CURVE_COLORS[i], width: 1.5, spanGaps: true }))],
      },
      data as uPlot.AlignedData,
      holder,
    );
  }
}
