/** The replay format (browser-safe): types, encoder/decoder, builder, and the built-in envs' scenes. */
export * from './format';
export * from './builder';
export * from './scenes';
