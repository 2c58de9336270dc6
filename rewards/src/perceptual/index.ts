/**
 * Perceptual rewards learned from demonstrations (Sermanet, Xu & Levine 2016, "Unsupervised Perceptual
 * Rewards for Imitation Learning"): Inception V3 features of demo frames (features.ts), step discovery
 * by the least within-step feature spread (steps.ts), and per-step feature selection and Gaussian step
 * rewards (reward-model.ts).
 */
export * from './errors';
export * from './features';
export * from './steps';
export * from './reward-model';
export * from './demos';
export * from './scorer';
