import { describe, expect, it } from 'vitest';
import { CarballVecEnv, VecEnv, envRegistration, episodeTaskMetrics, makeEnv, taskMetricSpecs, type AnyEnv } from '../src';

describe('task metrics', () => {
  it('every built-in env names its metrics, with length among them', () => {
    expect(taskMetricSpecs('carball-1v1').map((m) => m.name)).toEqual(['touches', 'goalsFor', 'goalsAgainst', 'ballVelocityToGoal', 'length']);
    expect(taskMetricSpecs('door-open').map((m) => m.name)).toEqual(['success', 'goalDistance', 'length']);
    expect(taskMetricSpecs('rtb').map((m) => m.name)).toEqual(['clicks', 'spend', 'spendShare', 'length']);
    const cartpole = taskMetricSpecs('CartPole-v1');
    expect(cartpole).toHaveLength(1);
    expect(cartpole[0]).toMatchObject({ name: 'length', better: 'higher' });
    expect(taskMetricSpecs('carball-1v1').find((m) => m.name === 'goalsAgainst')!.better).toBe('lower');
  });

  it("carball's vector env reports each episode's touches, goals and mean ball velocity toward the attacked goal", async () => {
    // Driving straight from the centre-back kickoff spawn hits the ball; the ball velocities are summed by hand from the states.
    const vec = await CarballVecEnv.make(1, 1, { noTouchTimeoutSeconds: 3, stateSetter: 'kickoff' });
    await vec.reset({ seed: 3 });
    const actions = vec.createActionBuffer();
    let sum0 = 0, sum1 = 0, steps = 0, touches0 = 0;
    for (let t = 0; t < 400; t++) {
      const r = await vec.step(actions);
      const ev = vec.events;
      touches0 += ev[3]!; // EV.touch of slot 0
      if (r.info.episodes.length) {
        const [ep0, ep1] = r.info.episodes;
        expect(ep0!.metrics!.touches).toBe(touches0);
        expect(ep0!.metrics!.ballVelocityToGoal).toBeCloseTo(sum0 / steps, 6);
        expect(ep1!.metrics!.ballVelocityToGoal).toBeCloseTo(sum1 / steps, 6);
        expect(ep0!.metrics!.goalsFor + ep1!.metrics!.goalsFor).toBe(r.terminated[0] ? 1 : 0);
        expect(ep0!.metrics!.goalsFor).toBe(ep1!.metrics!.goalsAgainst);
        await vec.close();
        return;
      }
      const { pos, vel } = vec.getState(0).ball;
      const toward = (y: number): number => { const dx = -pos[0], dy = y - pos[1]; return (dx * vel[0] + dy * vel[1]) / Math.hypot(dx, dy); };
      sum0 += toward(6000);
      sum1 += toward(-6000);
      steps += 1;
    }
    await vec.close();
    throw new Error('no episode ended within 400 steps');
  });

  it("VecEnv copies the ending step's metrics: CartPole's length, door-open's success and goal distance", async () => {
    const envs: AnyEnv[] = [await makeEnv<AnyEnv>('door-open')];
    const vec = new VecEnv(envs, { autoreset: 'next-step' });
    await vec.reset({ seed: 1 });
    const actions = vec.createActionBuffer();
    const limit = envRegistration('door-open').maxEpisodeSteps!;
    for (let t = 0; t < limit; t++) {
      const r = await vec.step(actions);
      if (t < limit - 1) expect(r.info.episodes).toHaveLength(0);
      else {
        const ep = r.info.episodes[0]!;
        expect(ep.length).toBe(limit);
        expect(ep.metrics!.goalDistance).toBeGreaterThan(0);
        expect(ep.isSuccess).toBe(false);
      }
    }
    await vec.close();
    const cartpole = new VecEnv([await makeEnv<AnyEnv>('CartPole-v1')], { autoreset: 'next-step' });
    await cartpole.reset({ seed: 0 });
    const push = cartpole.createActionBuffer();
    for (let t = 0; t < 500; t++) {
      const r = await cartpole.step(push);
      if (r.info.episodes.length) {
        expect(episodeTaskMetrics(r.info.episodes[0]!)).toEqual({ length: t + 1 });
        break;
      }
    }
    await cartpole.close();
  });
});
