/** @rewardlab/agents: tfjs backend selection, MLP policies, PPO, checkpoints and the training loop. */
export * from './backend';
export * from './config';
export * from './distributions';
export * from './nn';
export * from './gradients';
export * from './ppo';
export * from './checkpoint';
export * from './train';
export * from './bench';
export * from './selfplay';
export * from './remote';
export * from './rlb-neural';
export * from './vlm';
