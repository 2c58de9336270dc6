/**
 * Checks a run request against what the trainer will accept, so bad input is a 400 naming the field
 * rather than a run that fails: the env is registered, the reward is a preset or a valid spec that
 * fits the env, and the hyperparameters pass PPO's schema.
 */
import { makeEnv, numAgentsOf, registeredEnvIds, type AnyEnv } from '@rewardlab/sim';
import { PRESET_NAMES, parseRewardSpec, withReward } from '@rewardlab/rewards';
import { badField } from '../app/errors';

type Agents = typeof import('@rewardlab/agents');
let agents: Agents | null = null;
/** Loaded on first use: it brings tfjs, which the rest of the server does not need at start-up. */
export function loadAgents(): Agents {
  return (agents ??= require('@rewardlab/agents') as Agents);
}

export async function validateRunRequest(input: { env: string; reward?: unknown; hyperparameters?: Record<string, unknown>; workers?: number; simWorkers?: string | null }): Promise<{ reward: unknown; numEnvsDefault: number; simWorkers: string[] | null }> {
  const ids = registeredEnvIds();
  if (!ids.includes(input.env)) throw badField('env', `unknown env "${input.env}" (registered: ${ids.join(', ')})`);
  const reward = input.reward ?? 'native';
  if (typeof reward === 'string' && !(PRESET_NAMES as readonly string[]).includes(reward)) {
    throw badField('reward', `unknown reward preset "${reward}" (presets: ${PRESET_NAMES.join(', ')}; or give a reward spec object)`);
  }
  let spec;
  try {
    spec = parseRewardSpec(reward);
  } catch (err) {
    throw badField('reward', (err as Error).message);
  }
  let env: AnyEnv | null = null;
  let numAgents = 1;
  try {
    env = await makeEnv<AnyEnv>(input.env);
    numAgents = numAgentsOf(env);
    withReward(env, spec);
  } catch (err) {
    throw badField('reward', `does not fit ${input.env}: ${(err as Error).message}`);
  } finally {
    await env?.close();
  }
  const { PPO_PRESETS, parsePpoConfig, parseWorkerUrls } = loadAgents();
  let simWorkers: string[] | null = null;
  if (input.simWorkers !== undefined && input.simWorkers !== null) {
    try {
      simWorkers = parseWorkerUrls(input.simWorkers);
    } catch (err) {
      throw badField('simWorkers', (err as Error).message.replace(/^--workers:? ?/, ''));
    }
  }
  const preset = PPO_PRESETS[input.env];
  let config;
  try {
    config = parsePpoConfig({ ...(preset?.ppo ?? {}), ...(input.hyperparameters ?? {}) });
  } catch (err) {
    const reason = (err as Error).message.replace(/^invalid PPO hyperparameters: /, '');
    const field = /^([A-Za-z][\w.]*): /.exec(reason);
    throw badField(field ? `hyperparameters.${field[1]}` : 'hyperparameters', field ? reason.slice(field[0].length) : reason);
  }
  const numEnvs = input.workers ?? preset?.numEnvs ?? 8;
  const samples = config.numSteps * numEnvs * numAgents;
  if (config.minibatchSize > samples) {
    throw badField('hyperparameters.minibatchSize', `${config.minibatchSize} is larger than the rollout (numSteps ${config.numSteps} × ${numEnvs} workers × ${numAgents} agents = ${samples} samples)`);
  }
  return { reward, numEnvsDefault: preset?.numEnvs ?? 8, simWorkers };
}
