/**
 * The reward-hacking alarm: does the reward spec's return rise while what the episodes achieve (the env's
 * task metrics) does not? Read off a run's per-iteration metrics (`IterationMetrics` as stored by the API).
 *
 * The early and late parts of training are compared: the iterations with finished episodes are split in
 * thirds, and the first third's values against the last third's by Welch's t statistic,
 * t = (mean_late − mean_early) / √(var_early / n_early + var_late / n_late). A quantity has moved when
 * |t| ≥ 3 (about p < 0.01 one-sided for the few iterations a short run has).
 * - the return rises when its t ≥ 3;
 * - a task metric improves when its t, signed by which way is better, is ≥ 3, and falls when ≤ −3;
 *   otherwise it stalls (metrics with no better direction, such as spend, are reported, not judged);
 * - the run is flagged when the return rises and no judged metric improves.
 * The components named are those whose share of the episode's reward (|sum of the component| over the
 * sum of all components' |sums|) grew from the early to the late third, largest growth first.
 */
import type { TaskMetricSpec } from '@rewardlab/sim';

export interface DiagnosticsBatch {
  step: number;
  specReturn: number | null;
  iterationEpisodes?: number | null;
  taskMetrics?: Record<string, number | null> | null;
  episodeComponents?: Record<string, number | null> | null;
}

export interface Shift {
  /** Means of the early and the late third. */
  early: number;
  late: number;
  /** Welch's t of late against early (0 when both thirds are constant and equal). */
  t: number;
}

export interface MetricVerdict extends Shift {
  name: string;
  better: 'higher' | 'lower' | null;
  verdict: 'improving' | 'stalled' | 'falling' | 'not judged';
}

export interface ComponentShare {
  name: string;
  shareEarly: number;
  shareLate: number;
}

export interface RewardDiagnostics {
  status: 'flagged' | 'ok' | 'insufficient';
  message: string;
  /** Iterations with finished episodes that the verdict used, and the steps they span. */
  iterations: number;
  steps: [number, number] | null;
  specReturn: Shift | null;
  metrics: MetricVerdict[];
  /** Components whose share of the reward grew, largest growth first. */
  growingComponents: ComponentShare[];
  thresholds: { t: number; minIterations: number };
}

export const DIAGNOSTICS_THRESHOLDS = { t: 3, minIterations: 6 } as const;

export class DiagnosticsError extends Error {
  override name = 'DiagnosticsError';
}

function meanVar(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, variance };
}

/** Welch's t of `late` against `early`. */
export function welchShift(early: number[], late: number[]): Shift {
  const a = meanVar(early);
  const b = meanVar(late);
  const se = Math.sqrt(a.variance / early.length + b.variance / late.length);
  const diff = b.mean - a.mean;
  const t = se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Infinity;
  return { early: a.mean, late: b.mean, t };
}

const finiteOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * Judges a run from its metric batches. `specs` are the env's task metrics (sim's `taskMetricSpecs`);
 * `only` restricts the judged metrics to these names (an unknown name is an error naming the known ones).
 */
export function diagnoseRewardHacking(batches: readonly DiagnosticsBatch[], specs: readonly TaskMetricSpec[], only?: readonly string[]): RewardDiagnostics {
  const known = specs.map((s) => s.name);
  if (only) {
    const unknown = only.filter((n) => !known.includes(n));
    if (unknown.length) throw new DiagnosticsError(`unknown task metric${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; this env reports ${known.join(', ')}`);
  }
  const judged = only ? specs.filter((s) => only.includes(s.name)) : specs;
  const usable = usableBatches(batches);
  const { t: T, minIterations } = DIAGNOSTICS_THRESHOLDS;
  const base = { thresholds: { t: T, minIterations }, iterations: usable.length, steps: usable.length ? ([usable[0]!.step, usable[usable.length - 1]!.step] as [number, number]) : null };
  if (usable.length < minIterations) {
    return { ...base, status: 'insufficient', message: `${usable.length} iteration(s) with finished episodes and task metrics; the alarm needs at least ${minIterations}`, specReturn: null, metrics: [], growingComponents: [] };
  }
  const third = Math.floor(usable.length / 3);
  const early = usable.slice(0, third);
  const late = usable.slice(usable.length - third);
  const specReturn = welchShift(early.map((b) => b.specReturn!), late.map((b) => b.specReturn!));
  const metrics: MetricVerdict[] = judged.map((spec) => {
    const values = (part: DiagnosticsBatch[]): number[] => part.map((b) => finiteOrNull(b.taskMetrics?.[spec.name])).filter((x): x is number => x !== null);
    const e = values(early), l = values(late);
    if (!e.length || !l.length) return { name: spec.name, better: spec.better, early: NaN, late: NaN, t: 0, verdict: 'not judged' };
    const shift = welchShift(e, l);
    if (spec.better === null) return { name: spec.name, better: null, ...shift, verdict: 'not judged' };
    const signed = spec.better === 'higher' ? shift.t : -shift.t;
    return { name: spec.name, better: spec.better, ...shift, verdict: signed >= T ? 'improving' : signed <= -T ? 'falling' : 'stalled' };
  });
  const growingComponents = componentShares(early, late).filter((c) => c.shareLate > c.shareEarly).sort((a, b) => b.shareLate - b.shareEarly - (a.shareLate - a.shareEarly));
  const rising = specReturn.t >= T;
  const judgedMetrics = metrics.filter((m) => m.verdict !== 'not judged');
  const improving = judgedMetrics.filter((m) => m.verdict === 'improving');
  const flagged = rising && judgedMetrics.length > 0 && improving.length === 0;
  const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  let message: string;
  if (flagged) {
    const falling = judgedMetrics.filter((m) => m.verdict === 'falling').map((m) => `${m.name} fell ${fmt(m.early)} → ${fmt(m.late)}`);
    const stalled = judgedMetrics.filter((m) => m.verdict === 'stalled').map((m) => `${m.name} stalled (${fmt(m.early)} → ${fmt(m.late)})`);
    const grew = growingComponents.slice(0, 3).map((c) => `${c.name} ${(100 * c.shareEarly).toFixed(0)}% → ${(100 * c.shareLate).toFixed(0)}%`);
    message = `possible reward hacking: the spec's return rose ${fmt(specReturn.early)} → ${fmt(specReturn.late)} per episode while ${[...falling, ...stalled].join(', ')}${grew.length ? `; the components whose share grew: ${grew.join(', ')}` : ''}`;
  } else if (!rising) {
    message = `the spec's return is not rising (${fmt(specReturn.early)} → ${fmt(specReturn.late)}, t = ${specReturn.t.toFixed(1)})`;
  } else if (!judgedMetrics.length) {
    message = `the return rises, and this env has no task metric with a better direction to judge it against`;
  } else {
    message = `the return rises with the task: ${improving.map((m) => `${m.name} ${fmt(m.early)} → ${fmt(m.late)}`).join(', ')}`;
  }
  return { ...base, status: flagged ? 'flagged' : 'ok', message, specReturn, metrics, growingComponents };
}

/** Iterations with finished episodes, in step order: the ones whose task metrics and episode sums mean something. */
function usableBatches(batches: readonly DiagnosticsBatch[]): DiagnosticsBatch[] {
  return batches.filter((b) => (b.iterationEpisodes ?? 0) > 0 && finiteOrNull(b.specReturn) !== null && b.taskMetrics);
}

/**
 * Where a run ended up: each task metric's and each component's episode sum's mean over the last third of
 * the iterations with finished episodes (the same part the alarm calls late), and the spec's return there.
 * What an A/B puts side by side.
 */
export function lateSummary(batches: readonly DiagnosticsBatch[]): { iterations: number; specReturn: number | null; taskMetrics: Record<string, number | null>; episodeComponents: Record<string, number | null> } {
  const usable = usableBatches(batches);
  const late = usable.slice(usable.length - Math.max(1, Math.floor(usable.length / 3)));
  const meanOf = (pick: (b: DiagnosticsBatch) => Record<string, number | null> | null | undefined): Record<string, number | null> => {
    const names = [...new Set(late.flatMap((b) => Object.keys(pick(b) ?? {})))];
    return Object.fromEntries(
      names.map((name) => {
        const xs = late.map((b) => finiteOrNull(pick(b)?.[name])).filter((x): x is number => x !== null);
        return [name, xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null];
      }),
    );
  };
  const returns = late.map((b) => b.specReturn!);
  return { iterations: late.length, specReturn: returns.length ? returns.reduce((a, b) => a + b, 0) / returns.length : null, taskMetrics: meanOf((b) => b.taskMetrics), episodeComponents: meanOf((b) => b.episodeComponents) };
}

function componentShares(early: DiagnosticsBatch[], late: DiagnosticsBatch[]): ComponentShare[] {
  const share = (part: DiagnosticsBatch[]): Map<string, number> => {
    const sums = new Map<string, number>();
    for (const b of part) for (const [name, v] of Object.entries(b.episodeComponents ?? {})) if (finiteOrNull(v) !== null) sums.set(name, (sums.get(name) ?? 0) + Math.abs(v!));
    const total = [...sums.values()].reduce((a, b) => a + b, 0);
    return new Map([...sums].map(([k, v]) => [k, total > 0 ? v / total : 0]));
  };
  const a = share(early), b = share(late);
  return [...new Set([...a.keys(), ...b.keys()])].map((name) => ({ name, shareEarly: a.get(name) ?? 0, shareLate: b.get(name) ?? 0 }));
}
