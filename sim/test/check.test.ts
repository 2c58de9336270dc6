import { describe, expect, it } from 'vitest';
import { checkEnv, checkVecEnv, EnvCheckError, VecEnv, makeEnv, TimeLimit, type AnyEnv } from '../src';
import { CountdownEnv, LaxActionEnv, LineWalkers, OutOfBoundsEnv, SharedBufferEnv, UnseededEnv, WrongShapeEnv } from './fixtures';

async function problemsOf(env: AnyEnv): Promise<string[]> {
  try {
    await checkEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvCheckError);
    return (err as EnvCheckError).problems;
  }
  throw new Error('checkEnv passed a broken env');
}

describe('checkEnv', () => {
  it('passes a correct single-agent env and a correct multi-agent env', async () => {
    await expect(checkEnv(new CountdownEnv())).resolves.toMatchObject({ envId: 'Countdown-test', numAgents: 1 });
    await expect(checkEnv(new LineWalkers())).resolves.toMatchObject({ envId: 'LineWalkers-test', numAgents: 2 });
  });

  it('fails an env whose observations have the wrong shape, saying how many numbers it got', async () => {
    const problems = await problemsOf(new WrongShapeEnv());
    expect(problems[0]).toBe('reset: observation is not in the observation space Box(-10, 10, (2,)): expected 2 numbers for Box(-10, 10, (2,)), got 3');
  });

  it('fails an env that ignores its seed', async () => {
    const problems = await problemsOf(new UnseededEnv());
    expect(problems).toContain('reset(seed=42) twice gave different observations: seeding is not deterministic');
  });

  it('fails an env whose observation leaves the space, naming the entry and the bounds', async () => {
    const problems = await problemsOf(new OutOfBoundsEnv());
    expect(problems.some((p) => /observation is not in the observation space .*entry 0 = 12\.5 is outside \[-10, 10\]/.test(p))).toBe(true);
  });

  it('fails an env that accepts an invalid action', async () => {
    const problems = await problemsOf(new LaxActionEnv());
    expect(problems).toContain('step accepted an invalid action (2) without an error');
  });

  it('fails an env that overwrites an observation it handed out, unless it declares reuse', async () => {
    const problems = await problemsOf(new SharedBufferEnv());
    expect(problems.some((p) => p.startsWith('step returned the same observation array as reset'))).toBe(true);
    const declared = new SharedBufferEnv();
    Object.defineProperty(declared, 'metadata', { value: { reusesObsBuffer: true } });
    await expect(checkEnv(declared)).resolves.toBeTruthy();
  });

  it('fails a multi-agent env that returns a single reward', async () => {
    const env = new LineWalkers();
    const step = env.step.bind(env);
    env.step = (a) => ({ ...step(a), reward: 0 as unknown as number[] });
    const problems = await problemsOf(env);
    expect(problems.some((p) => p.includes('reward must be an array of 2 numbers (one per agent slot)'))).toBe(true);
  });
});

describe('checkVecEnv', () => {
  it('passes CartPole and Pendulum vectors in both autoreset modes and a multi-agent vector', async () => {
    for (const autoreset of ['next-step', 'same-step'] as const) {
      const cart = await VecEnv.make('CartPole-v1', 4, { autoreset });
      await expect(checkVecEnv(cart)).resolves.toMatchObject({ envId: 'CartPole-v1' });
      await cart.close();
      const pend = await VecEnv.make('Pendulum-v1', 2, { autoreset, maxEpisodeSteps: 20 });
      await expect(checkVecEnv(pend)).resolves.toBeTruthy();
    }
    const walkers = new VecEnv([new LineWalkers(), new LineWalkers(), new LineWalkers()]);
    await expect(checkVecEnv(walkers)).resolves.toMatchObject({ numAgents: 2 });
  });

  it('fails a vector whose envs never end', async () => {
    const vec = new VecEnv([await makeEnv('Pendulum-v1', { maxEpisodeSteps: null })]);
    await expect(checkVecEnv(vec, { maxSteps: 30 })).rejects.toThrow(/no episode ended within 30 random steps/);
  });

  it('the time-limited registry envs pass checkEnv', async () => {
    const env = await makeEnv('CartPole-v1');
    expect(env).toBeInstanceOf(TimeLimit);
    await expect(checkEnv(env)).resolves.toBeTruthy();
  });
});
