/**
 * Vision-language rewards (VLM-RM, Rocamonde et al. 2023): CLIP-style models loaded from a local
 * directory, the goal-baseline reward, and the frame scorer that renders states and embeds them.
 */
export * from './errors';
export * from './formula';
export * from './onnx-writer';
export * from './scorer';
export * from './frame-scoring';
export * from './model';
export * from './models';
