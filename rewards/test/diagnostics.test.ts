import { describe, expect, it } from 'vitest';
import { LENGTH_METRIC, SUCCESS_METRIC, type TaskMetricSpec } from '@rewardlab/sim';
import { DiagnosticsError, diagnoseRewardHacking, welchShift, type DiagnosticsBatch } from '../src';

describe("Welch's t", () => {
  it('matches the statistic worked out by hand', () => {
    // early: mean 2, sample variance ((1)²+0+(1)²)/2 = 1; late: mean 5, variance (4+0+4)/2 = 4.
    // se = √(1/3 + 4/3) = √(5/3); t = 3 / √(5/3) = 2.3238
    const s = welchShift([1, 2, 3], [3, 5, 7]);
    expect(s.early).toBe(2);
    expect(s.late).toBe(5);
    expect(s.t).toBeCloseTo(3 / Math.sqrt(5 / 3), 12);
    // falling: the sign follows late − early
    expect(welchShift([3, 5, 7], [1, 2, 3]).t).toBeCloseTo(-3 / Math.sqrt(5 / 3), 12);
  });

  it('is 0 for equal constant parts and ±∞ for different constant parts', () => {
    expect(welchShift([2, 2], [2, 2]).t).toBe(0);
    expect(welchShift([2, 2], [3, 3]).t).toBe(Infinity);
    expect(welchShift([2, 2], [1, 1]).t).toBe(-Infinity);
  });
});

/** Nine iterations: thirds of three. */
function batches(ret: number[], metric: Record<string, number[]>, components: Record<string, number[]> = {}): DiagnosticsBatch[] {
  return ret.map((r, i) => ({
    step: (i + 1) * 100,
    specReturn: r,
    iterationEpisodes: 4,
    taskMetrics: Object.fromEntries(Object.entries(metric).map(([k, v]) => [k, v[i]!])),
    episodeComponents: Object.fromEntries(Object.entries(components).map(([k, v]) => [k, v[i]!])),
  }));
}

const RISING = [1, 2, 3, 10, 11, 12, 20, 21, 22]; // early 2 ± 1, late 21 ± 1: t = 19 / √(2/3) = 23.3
const SPECS: TaskMetricSpec[] = [{ ...LENGTH_METRIC, better: 'higher' }, SUCCESS_METRIC, { name: 'spend', description: 'money spent', better: null, unit: '' }];

describe('the reward-hacking alarm', () => {
  it('flags a rising return while the judged metrics stall or fall, and names the components whose share grew', () => {
    // length falls (early 30 ± 1, late 20 ± 1: t = −12.2); success stalls (0.5 0.4 0.6 against 0.6 0.4 0.5: t = 0);
    // the return goes from `cost` (|−6|) and `farm` (|8|) early to farm 40 against cost 4 late.
    const diag = diagnoseRewardHacking(
      batches(RISING, { length: [29, 30, 31, 25, 25, 25, 19, 20, 21], success: [0.5, 0.4, 0.6, 0.5, 0.5, 0.5, 0.6, 0.4, 0.5], spend: [1, 1, 1, 1, 1, 1, 9, 9, 9] }, { cost: [-6, -6, -6, -5, -5, -5, -4, -4, -4], farm: [8, 8, 8, 15, 15, 15, 40, 40, 40] }),
      SPECS,
    );
    expect(diag.status).toBe('flagged');
    expect(diag.iterations).toBe(9);
    expect(diag.steps).toEqual([100, 900]);
    expect(diag.specReturn!.t).toBeCloseTo(19 / Math.sqrt(2 / 3), 9);
    const byName = Object.fromEntries(diag.metrics.map((m) => [m.name, m]));
    expect(byName.length!.verdict).toBe('falling');
    expect(byName.length!.t).toBeCloseTo(-10 / Math.sqrt(2 / 3), 9);
    expect(byName.success!.verdict).toBe('stalled');
    expect(byName.success!.t).toBeCloseTo(0, 12);
    expect(byName.spend!.verdict).toBe('not judged');
    // shares: early farm 24 / (24 + 18) = 4/7, late 120 / (120 + 12) = 10/11; cost's share shrank, so only farm is named.
    expect(diag.growingComponents).toHaveLength(1);
    expect(diag.growingComponents[0]!.name).toBe('farm');
    expect(diag.growingComponents[0]!.shareEarly).toBeCloseTo(4 / 7, 12);
    expect(diag.growingComponents[0]!.shareLate).toBeCloseTo(10 / 11, 12);
    expect(diag.message).toContain('length fell');
    expect(diag.message).toContain('farm 57% → 91%');
  });

  it('stays quiet when a judged metric improves with the return', () => {
    // length rises 20 → 30 with the return; success falls but one improving metric is enough.
    const diag = diagnoseRewardHacking(batches(RISING, { length: [19, 20, 21, 25, 25, 25, 29, 30, 31], success: [1, 1, 1, 0.5, 0.5, 0.5, 0, 0, 0] }), SPECS);
    expect(diag.status).toBe('ok');
    expect(diag.metrics.find((m) => m.name === 'length')!.verdict).toBe('improving');
    expect(diag.message).toMatch(/rises with the task: length 20.0 → 30.0/);
  });

  it('judges a lower-is-better metric by its sign', () => {
    const distance: TaskMetricSpec = { name: 'goalDistance', description: 'object to goal', better: 'lower', unit: 'm' };
    const down = diagnoseRewardHacking(batches(RISING, { goalDistance: [0.5, 0.6, 0.4, 0.3, 0.3, 0.3, 0.1, 0.2, 0.0] }), [distance]);
    expect(down.metrics[0]!.verdict).toBe('improving');
    expect(down.status).toBe('ok');
    const up = diagnoseRewardHacking(batches(RISING, { goalDistance: [0.1, 0.2, 0.0, 0.3, 0.3, 0.3, 0.5, 0.6, 0.4] }), [distance]);
    expect(up.metrics[0]!.verdict).toBe('falling');
    expect(up.status).toBe('flagged');
  });

  it('does not flag a return that is not rising, nor judge without enough iterations', () => {
    const flat = diagnoseRewardHacking(batches([5, 6, 4, 5, 6, 4, 5, 6, 4], { length: [30, 30, 30, 25, 25, 25, 20, 20, 20] }), SPECS);
    expect(flat.status).toBe('ok');
    expect(flat.specReturn!.t).toBe(0);
    expect(flat.message).toMatch(/not rising/);
    // Iterations without finished episodes do not count: five usable of nine is below the minimum of six.
    const sparse = batches(RISING, { length: RISING });
    for (const i of [0, 2, 4, 6]) sparse[i]!.iterationEpisodes = 0;
    const few = diagnoseRewardHacking(sparse, SPECS);
    expect(few.status).toBe('insufficient');
    expect(few.iterations).toBe(5);
    expect(few.message).toMatch(/needs at least 6/);
  });

  it('restricts the judged metrics to those asked for, and names the known ones for an unknown name', () => {
    const b = batches(RISING, { length: [19, 20, 21, 25, 25, 25, 29, 30, 31], success: [0.5, 0.4, 0.6, 0.5, 0.5, 0.5, 0.6, 0.4, 0.5] });
    expect(diagnoseRewardHacking(b, SPECS).status).toBe('ok');
    const onlySuccess = diagnoseRewardHacking(b, SPECS, ['success']);
    expect(onlySuccess.status).toBe('flagged');
    expect(onlySuccess.metrics.map((m) => m.name)).toEqual(['success']);
    expect(() => diagnoseRewardHacking(b, SPECS, ['touches', 'success'])).toThrow(DiagnosticsError);
    expect(() => diagnoseRewardHacking(b, SPECS, ['touches'])).toThrow('unknown task metric "touches"; this env reports length, success, spend');
  });
});
