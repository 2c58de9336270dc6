/**
 * @rewardlab/render: frames of the simulation for training — batched RGB renders of env states in
 * headless Chromium with the viewer's own scene code, pixel observations (Gymnasium's
 * AddRenderObservation semantics) for envs and vector envs, and episode videos.
 */
export * from './errors';
export * from './camera';
export * from './renderer';
export * from './frames';
export * from './wrappers';
export * from './video';
