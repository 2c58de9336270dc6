/**
 * Simulation workers over WebSockets: the protocol codec, the worker server, the `RemoteVecEnv` client
 * and the `MultiVecEnv` that joins remote workers and local envs into one rollout (sim/PROTOCOL.md).
 */
export * from './protocol';
export { SimWorkerServer, makeHostedVecEnv, type SimWorkerOptions, type SimWorkerHealth } from './server';
export { RemoteVecEnv, WorkerLostError, WorkerRefusedError, type RemoteVecEnvOptions } from './client';
export { MultiVecEnv, type MultiVecEnvOptions, type MultiVecEnvStats } from './multi';
