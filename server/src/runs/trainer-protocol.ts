/** Messages between the server and a trainer child process (over Node's IPC channel). */
import type { IterationMetrics } from '@rewardlab/agents';

export interface TrainTask {
  type: 'train';
  runId: string;
  env: string;
  reward: unknown;
  algo: string;
  hyperparameters: Record<string, unknown>;
  steps: number;
  seed: number;
  numEnvs: number;
  checkpointEvery: number;
  replayEvery: number;
  out: string;
  resume?: string;
  /** Sim worker URLs: train on their envs instead of a local VecEnv (no replays then). */
  simWorkers?: string[];
}

export interface EvaluateTask {
  type: 'evaluate';
  policy: string;
  episodes: number;
  seed: number;
  deterministic: boolean;
}

export type ParentMessage = TrainTask | EvaluateTask | { type: 'stop' } | { type: 'ack'; seq: number };

export type ChildMessage =
  | { type: 'started'; totalSteps: number; numEnvs: number; backend: string }
  | { type: 'metrics'; seq: number; metrics: IterationMetrics }
  | { type: 'checkpoint'; seq: number; dir: string; step: number; kind: 'checkpoint' | 'final' }
  | { type: 'replay'; seq: number; path: string; kind: string; episode: number; step: number; frames: number; bytes: number; episodeReturn: number | null }
  | { type: 'episode'; episode: number; step: number; return: number; length: number }
  | { type: 'done'; result: Record<string, unknown> }
  | { type: 'error'; name: string; message: string };
