import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { makeHostedVecEnv, MultiVecEnv, RemoteVecEnv, Rng, sampleSpace, type VecEnvLike } from '@rewardlab/sim';
import { emitResult } from './output';
import { positiveInt } from './parse';

export interface StreamBenchResult {
  bench: 'stream';
  env: string;
  /** Envs per worker (and of the local baseline). */
  numEnvs: number;
  numAgents: number;
  secondsPerMeasurement: number;
  rounds: number;
  /** Env steps per second of the vector env in this process (the same vector a worker hosts). */
  localStepsPerSec: number;
  /**
   * One worker process on loopback hosting the `numEnvs` envs as `groups` groups, stepped as a trainer
   * does (MultiVecEnv's sendGroup / recvGroup: a group's next step goes out as soon as it is back, so
   * one group's request waits at the worker while another simulates).
   */
  remoteStepsPerSec: number;
  ratio: number;
  /** Env groups per worker in the pipelined figures. */
  groups: number;
  /** One worker, one group, one synchronous `step` at a time (RemoteVecEnv): every round trip is idle time. */
  remoteSyncStepsPerSec: number;
  syncRatio: number;
  /** Two worker processes of `numEnvs` envs each, pipelined as above (env steps of both). */
  twoWorkersStepsPerSec: number;
  twoWorkerSpeedup: number;
  cpus: number;
  loadAverage: number;
}

/** A worker process running the same SimWorkerServer as `rewardlab sim-worker`, on a free loopback port. */
function startWorker(env: string, numEnvs: number, groups: number): Promise<{ child: ChildProcess; url: string }> {
  const script = `const { SimWorkerServer } = require(${JSON.stringify(require.resolve('@rewardlab/sim'))});
SimWorkerServer.start(JSON.parse(process.argv[1])).then((s) => process.stdout.write(s.url + '\\n'), (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify({ envId: env, numEnvs, groups, port: 0 })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (url) => resolve({ child, url }));
    child.once('exit', (code) => reject(new Error(`the sim worker for ${env} exited with code ${code} before listening`)));
  });
}

/** 32 buffers of random actions for every slot of `vec`, drawn in advance. */
function actionPool(vec: VecEnvLike, seed: number): (Float32Array | Int32Array)[] {
  const rng = new Rng(seed);
  return Array.from({ length: 32 }, () => {
    const buf = vec.createActionBuffer();
    for (let s = 0; s < vec.numSlots; s++) {
      const a = sampleSpace(vec.singleActionSpace, rng);
      if (typeof a === 'number') buf[s] = a;
      else buf.set(a as ArrayLike<number>, s * vec.actionSize);
    }
    return buf;
  });
}

/**
 * Env steps per second with random actions (drawn in advance), after a warm-up: for about `seconds`,
 * or for exactly `steps` steps when given (so that two vectors with the same seed do the same work:
 * carball's cost per step depends on the state of the match), up to four times `seconds`.
 */
async function stepsPerSec(vec: VecEnvLike, seconds: number, seed: number, steps?: number): Promise<{ rate: number; steps: number }> {
  const pool = actionPool(vec, seed);
  // Warm up (JIT, sockets) for a tenth of the measurement, then start again from the same seed.
  await vec.reset({ seed });
  const warmUntil = performance.now() + seconds * 100;
  for (let t = 0; t < 20 || performance.now() < warmUntil; t++) await vec.step(pool[t % pool.length]!);
  await vec.reset({ seed });
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  // A fixed step count stops anyway after four times the measurement (a much slower vector).
  const cap = start + 4 * seconds * 1000;
  while (steps === undefined ? performance.now() < until : n < steps && performance.now() < cap) {
    await vec.step(pool[n % pool.length]!);
    n += 1;
  }
  return { rate: (n * vec.numEnvs) / ((performance.now() - start) / 1000), steps: n };
}

/**
 * The same measurement through the groups of a MultiVecEnv, stepped asynchronously as a pipelined
 * trainer steps them: every group is sent its actions, and each group that answers is sent its next
 * step at once, until every group has made `steps` steps (or about `seconds` have passed).
 */
async function pipelinedStepsPerSec(vec: MultiVecEnv, seconds: number, seed: number, steps?: number): Promise<{ rate: number; steps: number }> {
  const pool = actionPool(vec, seed);
  const A = vec.numAgents * vec.actionSize;
  const offsets: number[] = [];
  vec.parts.reduce((at, p) => (offsets.push(at), at + p.numEnvs), 0);
  const actionsOf = (k: number, n: number): Float32Array | Int32Array => pool[n % pool.length]!.subarray(offsets[k]! * A, (offsets[k]! + vec.parts[k]!.numEnvs) * A);
  const run = async (until: number, stepsPerGroup: number): Promise<number> => {
    const made = vec.parts.map(() => 0);
    vec.parts.forEach((_, k) => vec.sendGroup(k, actionsOf(k, 0)));
    let envSteps = 0;
    for (let inFlight = vec.parts.length; inFlight > 0; ) {
      const g = await vec.recvGroup();
      made[g.group]! += 1;
      envSteps += g.numEnvs;
      if (made[g.group]! < stepsPerGroup && performance.now() < until) vec.sendGroup(g.group, actionsOf(g.group, made[g.group]!));
      else inFlight -= 1;
    }
    return envSteps;
  };
  await vec.reset({ seed });
  await run(performance.now() + seconds * 100, Number.MAX_SAFE_INTEGER);
  await vec.reset({ seed });
  const start = performance.now();
  const envSteps = await run(start + (steps === undefined ? 1 : 4) * seconds * 1000, steps ?? Number.MAX_SAFE_INTEGER);
  return { rate: envSteps / ((performance.now() - start) / 1000), steps: Math.round(envSteps / vec.numEnvs) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * The cost of streaming an env: the local vector env against one worker on loopback (ratio) and two
 * workers against one (speedup). Measurements alternate over `rounds` rounds and report medians, so a
 * burst of load on a shared machine does not land on one of them only.
 */
export async function benchStream(opts: { env: string; numEnvs: number; groups: number; seconds: number; rounds: number; seed: number; log?: (line: string) => void }): Promise<StreamBenchResult> {
  if (opts.groups > opts.numEnvs) throw new RangeError(`--groups must be at most --num-envs (${opts.numEnvs}), got ${opts.groups}`);
  const children: ChildProcess[] = [];
  const vectors: VecEnvLike[] = [];
  try {
    const local = await makeHostedVecEnv(opts.env, opts.numEnvs);
    vectors.push(local);
    const [w0, w1, w2, w3] = await Promise.all([1, opts.groups, opts.groups, opts.groups].map((g) => startWorker(opts.env, opts.numEnvs, g)));
    children.push(w0!.child, w1!.child, w2!.child, w3!.child);
    const sync = await RemoteVecEnv.connect(w0!.url);
    vectors.push(sync);
    const one = await MultiVecEnv.connect([w1!.url]);
    vectors.push(one);
    const two = await MultiVecEnv.connect([w2!.url, w3!.url]);
    vectors.push(two);
    const rates = { local: [] as number[], sync: [] as number[], remote: [] as number[], two: [] as number[] };
    for (let round = 0; round < opts.rounds; round++) {
      // The local run sets the step count; the workers run as many steps of matches seeded alike.
      const base = await stepsPerSec(local, opts.seconds, opts.seed + round);
      rates.local.push(base.rate);
      rates.sync.push((await stepsPerSec(sync, opts.seconds, opts.seed + round, base.steps)).rate);
      rates.remote.push((await pipelinedStepsPerSec(one, opts.seconds, opts.seed + round, base.steps)).rate);
      rates.two.push((await pipelinedStepsPerSec(two, opts.seconds, opts.seed + round, base.steps)).rate);
      const r = (xs: number[]): number => Math.round(xs.at(-1)!);
      opts.log?.(`round ${round + 1}/${opts.rounds}: local ${r(rates.local)}, one worker ${r(rates.remote)} (synchronous ${r(rates.sync)}), two workers ${r(rates.two)} env steps/s`);
    }
    const localStepsPerSec = median(rates.local);
    const remoteStepsPerSec = median(rates.remote);
    const remoteSyncStepsPerSec = median(rates.sync);
    const twoWorkersStepsPerSec = median(rates.two);
    return {
      bench: 'stream',
      env: local.envId,
      numEnvs: opts.numEnvs,
      numAgents: local.numAgents,
      secondsPerMeasurement: opts.seconds,
      rounds: opts.rounds,
      localStepsPerSec,
      remoteStepsPerSec,
      ratio: remoteStepsPerSec / localStepsPerSec,
      groups: opts.groups,
      remoteSyncStepsPerSec,
      syncRatio: remoteSyncStepsPerSec / localStepsPerSec,
      twoWorkersStepsPerSec,
      twoWorkerSpeedup: twoWorkersStepsPerSec / remoteStepsPerSec,
      cpus: cpus().length,
      loadAverage: loadavg()[0]!,
    };
  } finally {
    await Promise.all(vectors.map((v) => v.close().catch(() => {})));
    for (const c of children) c.kill('SIGTERM');
  }
}

export function registerStreamBench(bench: Command): void {
  bench
    .command('stream')
    .description('sim workers over WebSockets: one worker on loopback against the local vector env (ratio), two workers against one (speedup)')
    .option('--env <id>', 'env id', 'carball-1v1')
    .option('--num-envs <n>', 'envs per worker (and in the local baseline)', positiveInt, 8)
    .option('--groups <n>', 'env groups per worker in the pipelined figures', positiveInt, 2)
    .option('--seconds <n>', 'seconds per measurement', positiveInt, 3)
    .option('--rounds <n>', 'alternating rounds (medians are reported)', positiveInt, 3)
    .option('--seed <n>', 'seed of the envs and the random actions', positiveInt, 1)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string; numEnvs: number; groups: number; seconds: number; rounds: number; seed: number; json?: boolean }) => {
      const result = await benchStream({ ...opts, log: (line) => process.stderr.write(`bench stream: ${line}\n`) });
      emitResult(result, opts, (r: StreamBenchResult) =>
        `${r.env} × ${r.numEnvs} per worker: local ${Math.round(r.localStepsPerSec)} env steps/s, one worker ${Math.round(r.remoteStepsPerSec)} in ${r.groups} groups (ratio ${r.ratio.toFixed(2)}; synchronous ${Math.round(r.remoteSyncStepsPerSec)}, ratio ${r.syncRatio.toFixed(2)}), two workers ${Math.round(r.twoWorkersStepsPerSec)} (${r.twoWorkerSpeedup.toFixed(2)}× one)`,
      );
    });
}
