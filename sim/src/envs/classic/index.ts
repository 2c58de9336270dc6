import { registerEnv } from '../../registry';
import { LENGTH_METRIC } from '../../task-metrics';
import { CartPoleEnv } from './cartpole';
import { PendulumEnv } from './pendulum';

export { CartPoleEnv, CARTPOLE } from './cartpole';
export { PendulumEnv, PENDULUM, angleNormalize } from './pendulum';

/** Gymnasium's registrations: CartPole-v1 (500 steps) and Pendulum-v1 (200 steps). */
export function registerClassicEnvs(): void {
  registerEnv('CartPole-v1', () => new CartPoleEnv(), { maxEpisodeSteps: 500, description: 'Balance a pole on a cart (Gymnasium CartPole-v1).', taskMetrics: [{ ...LENGTH_METRIC, description: 'steps the pole stayed up (500 at most)', better: 'higher' }] });
  registerEnv('Pendulum-v1', (options) => new PendulumEnv(options as { g?: number }), { maxEpisodeSteps: 200, description: 'Swing a pendulum up and hold it (Gymnasium Pendulum-v1).' });
}
