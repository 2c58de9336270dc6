import { describe, expect, it } from 'vitest';
import { formatDeepLink, parseDeepLink } from '../src/deep-link';
import { mergeCurves } from '../src/curves';

describe('deep links', () => {
  it('round-trips a run, an episode and a time', () => {
    const link = { run: 'a1b2', episode: 40, t: 12.5 };
    expect(formatDeepLink(link)).toBe('#run=a1b2&episode=40&t=12.5');
    expect(parseDeepLink('#run=a1b2&episode=40&t=12.5')).toEqual(link);
  });

  it('ignores values that are not numbers or are negative', () => {
    expect(parseDeepLink('#run=x&episode=abc&t=-3&agent=1.5')).toEqual({ run: 'x' });
  });

  it('reads live following, a replay URL, the camera and the agent', () => {
    expect(parseDeepLink('#src=%2Freplays%2Fa.rlr&live=1&cam=ball&agent=2')).toEqual({ src: '/replays/a.rlr', live: true, cam: 'ball', agent: 2 });
  });
});

describe('training curves of two runs on one axis', () => {
  it('takes the union of steps and leaves gaps where a run has no point', () => {
    const [steps, a, b] = mergeCurves([
      [
        { step: 0, value: 1 },
        { step: 200, value: 3 },
      ],
      [{ step: 100, value: 2 }],
    ]);
    expect(steps).toEqual([0, 100, 200]);
    expect(a).toEqual([1, null, 3]);
    expect(b).toEqual([null, 2, null]);
  });
});
