/**
 * The trainer child process: receives one task from the server over IPC, runs agents' `train()` (or
 * `evaluate()`), and reports metrics, checkpoints, replays and episodes back. It exits when the task
 * ends, and at once when the server goes away (the IPC channel closes).
 */
import { join } from 'node:path';
import { makeEnv, VecEnv, type AnyEnv, type AutoresetMode } from '@rewardlab/sim';
import { parseRewardSpec, withReward } from '@rewardlab/rewards';
import { evaluate, makeRemoteVecEnvFactory, train } from '@rewardlab/agents';
import { ReplayRecorder } from './replay-recorder';
import type { ChildMessage, EvaluateTask, ParentMessage, TrainTask } from './trainer-protocol';

const abort = new AbortController();
let seq = 0;
/** Reports the server has not acknowledged yet; the process waits for them before exiting. */
const unacked = new Map<number, () => void>();

function send(message: ChildMessage): void {
  process.send?.(message);
}

function sendAcked(message: ChildMessage & { seq: number }): void {
  unacked.set(message.seq, () => undefined);
  send(message);
}

async function drain(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (unacked.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

async function runTrain(task: TrainTask): Promise<void> {
  const reward = parseRewardSpec(task.reward);
  let step = 0;
  const result = await train({
    env: task.env,
    reward: task.reward,
    algo: task.algo,
    steps: task.steps,
    seed: task.seed,
    ...(task.numEnvs ? { numEnvs: task.numEnvs } : {}),
    out: task.out,
    ppo: task.hyperparameters,
    checkpointEvery: task.checkpointEvery,
    ...(task.resume ? { resume: task.resume } : {}),
    signal: abort.signal,
    onStart: (info) => send({ type: 'started', totalSteps: info.totalSteps, numEnvs: info.numEnvs, backend: info.backend }),
    onIteration: (metrics) => {
      step = metrics.step;
      sendAcked({ type: 'metrics', seq: ++seq, metrics });
    },
    onCheckpoint: (dir, at) => sendAcked({ type: 'checkpoint', seq: ++seq, dir, step: at, kind: 'checkpoint' }),
    // On sim workers the rollout also steps one env here, the one recorded as replays for the viewer.
    makeVecEnv: task.simWorkers?.length
      ? makeRemoteVecEnvFactory(task.simWorkers, { reward: task.reward, localVec: (envId, autoreset) => localVecEnv(task, reward, envId, 1, () => step, autoreset) })
      : (envId: string, numEnvs: number) => localVecEnv(task, reward, envId, numEnvs, () => step),
  });
  sendAcked({ type: 'checkpoint', seq: ++seq, dir: result.policyDir, step: result.steps, kind: 'final' });
  await drain();
  send({ type: 'done', result: { ...result, policyDir: undefined } });
}

/** The run's envs in this process, env 0 recorded as replays (`step()`: the trainer's step now). */
async function localVecEnv(task: TrainTask, reward: ReturnType<typeof parseRewardSpec>, envId: string, numEnvs: number, step: () => number, autoreset: AutoresetMode = 'same-step'): Promise<VecEnv> {
  const envs: AnyEnv[] = [];
  for (let i = 0; i < numEnvs; i++) {
    let env = withReward(await makeEnv<AnyEnv>(envId), reward);
    if (i === 0) {
      env = ReplayRecorder.wrap(env, {
        dir: join(task.out, 'replays'),
        every: task.replayEvery,
        kind: 'train',
        meta: () => ({ step: step(), runId: task.runId, seed: task.seed, reward: typeof task.reward === 'string' ? task.reward : 'custom' }),
        onEpisode: (e) => send({ type: 'episode', episode: e.episode, step: step(), return: e.return, length: e.length }),
        onRecorded: (r) => sendAcked({ type: 'replay', seq: ++seq, path: r.path, kind: 'train', episode: r.episode, step: step(), frames: r.frames, bytes: r.bytes, episodeReturn: r.episodeReturn }),
      });
    }
    envs.push(env);
  }
  return new VecEnv(envs, { autoreset });
}

async function runEvaluate(task: EvaluateTask): Promise<void> {
  const result = await evaluate({ policy: task.policy, episodes: task.episodes, seed: task.seed, deterministic: task.deterministic });
  send({ type: 'done', result: result as unknown as Record<string, unknown> });
}

process.on('disconnect', () => process.exit(1));
process.on('message', (message: ParentMessage) => {
  if (message.type === 'ack') unacked.delete(message.seq);
  else if (message.type === 'stop') abort.abort();
  else {
    const run = message.type === 'train' ? runTrain(message) : runEvaluate(message);
    run.then(
      () => setTimeout(() => process.exit(0), 50),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        send({ type: 'error', name: e.name, message: e.message });
        setTimeout(() => process.exit(1), 50);
      },
    );
  }
});
