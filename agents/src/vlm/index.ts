/** Vision-language reward models: captioned renders, a small CLIP-style contrastive model in tfjs, its CLIP-layout ONNX export, training and evaluation. */
export * from './captions';
export * from './contrastive';
export * from './export';
export * from './train';
export * from './evaluate';
