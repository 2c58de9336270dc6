/**
 * @rewardlab/rewards: reward terms (RLGym, Lucy-SKG), combinators (weighted sum, KRC, potential shaping,
 * team spirit, gates), reward specs and presets, the `withReward` wrapper, the learner's return transforms
 * and reward distances (EPIC, STARC).
 */
export * from './carball';
export * from './terms';
export * from './spec';
export * from './reward';
export * from './wrapper';
export * from './transforms';
export * from './distances';
export * from './vec-wrapper';
export * from './vlm';
export * from './perceptual';
export * from './diagnostics';
