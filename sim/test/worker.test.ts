import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  checkVecEnv,
  CloseCode,
  decodeError,
  encodeReset,
  encodeStep,
  ErrorCode,
  FrameType,
  InvalidActionError,
  MultiVecEnv,
  readHeader,
  RemoteVecEnv,
  Rng,
  sampleSpace,
  VecEnv,
  WorkerLostError,
  WorkerRefusedError,
  type VecEnvLike,
  type VecStepResult,
} from '../src';
import { killWorker, startWorker, type WorkerProcess } from './worker-helpers';

const workers: WorkerProcess[] = [];
async function worker(options: Parameters<typeof startWorker>[0]): Promise<WorkerProcess> {
  const w = await startWorker(options);
  workers.push(w);
  return w;
}
afterAll(async () => {
  await Promise.all(workers.map((w) => killWorker(w)));
});

function randomActions(vec: VecEnvLike, rng: Rng, into = vec.createActionBuffer()): Float32Array | Int32Array {
  for (let s = 0; s < vec.numSlots; s++) {
    const a = sampleSpace(vec.singleActionSpace, rng);
    if (typeof a === 'number') into[s] = a;
    else into.set(a as ArrayLike<number>, s * vec.actionSize);
  }
  return into;
}

function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

describe('RemoteVecEnv against a worker process', () => {
  let cartpole: WorkerProcess;
  let pendulum: WorkerProcess;
  beforeAll(async () => {
    [cartpole, pendulum] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 4 }), worker({ envId: 'Pendulum-v1', numEnvs: 3 })]);
  });

  it('passes checkVecEnv with next-step autoreset (discrete actions)', async () => {
    const vec = await RemoteVecEnv.connect(cartpole.url);
    try {
      expect(vec.spec).toMatchObject({ envId: 'CartPole-v1', numEnvs: 4, numAgents: 1, obsSize: 4, actionDtype: 'int32', autoreset: 'next-step' });
      await checkVecEnv(vec);
    } finally {
      await vec.close();
    }
  });

  it('passes checkVecEnv with same-step autoreset and box actions', async () => {
    const vec = await RemoteVecEnv.connect(pendulum.url, { autoreset: 'same-step' });
    try {
      expect(vec.spec).toMatchObject({ envId: 'Pendulum-v1', actionDtype: 'float32', autoreset: 'same-step' });
      await checkVecEnv(vec, { maxSteps: 400 });
    } finally {
      await vec.close();
    }
  });

  it('answers an invalid action with an error and leaves the env as it was', async () => {
    const vec = await RemoteVecEnv.connect(cartpole.url);
    try {
      await vec.reset({ seed: 1 });
      const bad = vec.createActionBuffer().fill(2);
      await expect(vec.step(bad)).rejects.toMatchObject({ name: 'WorkerRefusedError', code: ErrorCode.InvalidAction });
      const good = vec.createActionBuffer();
      const r = await vec.step(good);
      const local = await VecEnv.make('CartPole-v1', 4);
      await local.reset({ seed: 1 });
      expect(bits(r.obs)).toBe(bits((await local.step(good)).obs));
    } finally {
      await vec.close();
    }
  });
});

describe('MultiVecEnv', () => {
  it('over two workers (and a local part) steps exactly like one local VecEnv of the same size', async () => {
    const [a, b] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 3 }), worker({ envId: 'CartPole-v1', numEnvs: 3 })]);
    const localPart = await VecEnv.make('CartPole-v1', 2);
    const multi = await MultiVecEnv.connect([a.url, b.url], { local: [localPart] });
    const reference = await VecEnv.make('CartPole-v1', 8);
    try {
      expect(multi.numEnvs).toBe(8);
      const r0 = await multi.reset({ seed: 11 });
      expect(bits(r0.obs)).toBe(bits((await reference.reset({ seed: 11 })).obs));
      const rng = new Rng(3);
      let episodes = 0;
      for (let t = 0; t < 300; t++) {
        const actions = randomActions(multi, rng);
        const x: VecStepResult = await reference.step(actions);
        const y = await multi.step(actions);
        expect(bits(y.obs)).toBe(bits(x.obs));
        expect(Array.from(y.rewards)).toEqual(Array.from(x.rewards));
        expect(Array.from(y.terminated)).toEqual(Array.from(x.terminated));
        expect(Array.from(y.truncated)).toEqual(Array.from(x.truncated));
        expect(Array.from(y.info.autoreset)).toEqual(Array.from(x.info.autoreset));
        const key = (e: { env: number; agent: number; return: number; length: number }): string => `${e.env}/${e.agent}/${e.return}/${e.length}`;
        expect(y.info.episodes.map(key).sort()).toEqual(x.info.episodes.map(key).sort());
        episodes += x.info.episodes.length;
      }
      expect(episodes).toBeGreaterThan(10);
      // An invalid action is refused before any part moves: the next valid step still matches.
      const bad = multi.createActionBuffer();
      bad[7] = 2;
      await expect(multi.step(bad)).rejects.toBeInstanceOf(InvalidActionError);
      const actions = randomActions(multi, rng);
      expect(bits((await multi.step(actions)).obs)).toBe(bits((await reference.step(actions)).obs));
    } finally {
      await multi.close();
      await reference.close();
    }
  });
});

describe('MultiVecEnv asynchronous groups (EnvPool send / recv)', () => {
  it('steps each group as soon as it is back, each exactly like its own local VecEnv', async () => {
    const [a, b] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 3 }), worker({ envId: 'CartPole-v1', numEnvs: 3, stepDelayMs: 2 })]);
    const multi = await MultiVecEnv.connect([a.url, b.url]);
    const references = [await VecEnv.make('CartPole-v1', 3), await VecEnv.make('CartPole-v1', 3)];
    try {
      await multi.reset({ seed: 5 });
      await references[0]!.reset({ seed: 5 });
      await references[1]!.reset({ seed: 5 + 3 }); // group 1 holds envs 3, 4, 5 of the whole
      const rng = new Rng(9);
      const sent = [new Int32Array(3), new Int32Array(3)];
      const send = (k: number): void => {
        for (let i = 0; i < 3; i++) sent[k]![i] = rng.integer(2);
        multi.sendGroup(k, sent[k]!);
      };
      send(0);
      send(1);
      await expect(multi.step(multi.createActionBuffer())).rejects.toThrow(/in flight/);
      const received = [0, 0];
      for (let n = 0; n < 200; n++) {
        const g = await multi.recvGroup();
        const x = await references[g.group]!.step(sent[g.group]!);
        expect(bits(g.obs)).toBe(bits(x.obs));
        expect(Array.from(g.terminated)).toEqual(Array.from(x.terminated));
        expect(g.episodes.map((e) => e.env - g.envOffset)).toEqual(x.info.episodes.map((e) => e.env));
        received[g.group]! += 1;
        send(g.group);
      }
      // The slower worker's group comes back less often: the fast one is not held back by it.
      expect(received[0]).toBeGreaterThan(received[1]!);
      await multi.recvGroup();
      await multi.recvGroup();
      await expect(multi.recvGroup()).rejects.toThrow(/no group in flight/);
    } finally {
      await multi.close();
    }
  });
});

describe('a worker hosting env groups', () => {
  it('serves each group to its own session; MultiVecEnv joins them like one local VecEnv, synchronously and pipelined', async () => {
    const w = await worker({ envId: 'CartPole-v1', numEnvs: 5, groups: 2 });
    const multi = await MultiVecEnv.connect([w.url]);
    const reference = await VecEnv.make('CartPole-v1', 5);
    try {
      // Groups of 3 and 2 envs, each a part of its own (a session each), in group order.
      expect(multi.parts.map((p) => p.numEnvs)).toEqual([3, 2]);
      expect(multi.parts.map((p) => (p as RemoteVecEnv).spec.group)).toEqual([0, 1]);
      expect((multi.parts[0] as RemoteVecEnv).spec.groups).toBe(2);
      expect(bits((await multi.reset({ seed: 21 })).obs)).toBe(bits((await reference.reset({ seed: 21 })).obs));
      const rng = new Rng(4);
      for (let t = 0; t < 100; t++) {
        const actions = randomActions(multi, rng);
        const x = await reference.step(actions);
        expect(bits((await multi.step(actions)).obs)).toBe(bits(x.obs));
      }
      // Pipelined: both groups in flight at once on the one worker, each still stepping its own envs.
      const offsets = [0, 3];
      for (let t = 0; t < 50; t++) {
        const actions = randomActions(multi, rng);
        multi.sendGroup(0, actions.subarray(0, 3));
        multi.sendGroup(1, actions.subarray(3, 5));
        const x = await reference.step(actions);
        for (let n = 0; n < 2; n++) {
          const g = await multi.recvGroup();
          const O = multi.obsSize;
          expect(bits(g.obs)).toBe(bits(x.obs.subarray(offsets[g.group]! * O, (offsets[g.group]! + g.numEnvs) * O)));
        }
      }
      // A hello for a group the worker does not have is refused; a new session for group 1 replaces only group 1's.
      await expect(RemoteVecEnv.connect(w.url, { group: 2 })).rejects.toThrow(/2 env group\(s\); there is no group 2/);
      const again = await RemoteVecEnv.connect(w.url, { group: 1 });
      expect(again.numEnvs).toBe(2);
      await again.reset({ seed: 0 });
      await expect(multi.parts[1]!.step(new Int32Array(2))).rejects.toBeInstanceOf(WorkerLostError);
      expect((await multi.parts[0]!.step(new Int32Array(3))).obs.length).toBe(3 * multi.obsSize);
      await again.close();
    } finally {
      await multi.close();
      await reference.close();
    }
  });
});

describe('MultiVecEnv asynchronous groups under faults', () => {
  it('a group whose worker dies comes back masked, and the other group carries on', async () => {
    const [a, b] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 2 }), worker({ envId: 'CartPole-v1', numEnvs: 2 })]);
    const multi = await MultiVecEnv.connect([a.url, b.url], { reconnectDelayMs: 60_000 });
    try {
      await multi.reset({ seed: 1 });
      for (let t = 0; t < 3; t++) {
        multi.sendGroup(0, new Int32Array(2));
        multi.sendGroup(1, new Int32Array(2));
        await multi.recvGroup();
        await multi.recvGroup();
      }
      await killWorker(a);
      multi.sendGroup(0, new Int32Array(2));
      multi.sendGroup(1, new Int32Array(2));
      const got = [await multi.recvGroup(), await multi.recvGroup()].sort((x, y) => x.group - y.group);
      expect(Array.from(got[0]!.autoreset)).toEqual([1, 1]);
      expect(Array.from(got[0]!.truncated)).toEqual([1, 1]); // 3 steps into their episodes
      expect(got[0]!.episodes.map((e) => e.length)).toEqual([3, 3]);
      expect(Array.from(got[1]!.autoreset)).toEqual([0, 0]);
      expect(multi.stats.losses).toBe(1);
      multi.sendGroup(0, new Int32Array(2));
      const idle = await multi.recvGroup();
      expect(Array.from(idle.autoreset)).toEqual([1, 1]);
      expect(Array.from(idle.truncated)).toEqual([0, 0]);
    } finally {
      await multi.close();
    }
  });
});

describe('security', () => {
  let guarded: WorkerProcess;
  beforeAll(async () => {
    guarded = await worker({ envId: 'CartPole-v1', numEnvs: 2, token: 's3cret-token' });
  });

  it('refuses a wrong or missing token, and accepts the right one', async () => {
    for (const token of ['s3cret-tokem', 's3cret', '', undefined]) {
      const attempt = RemoteVecEnv.connect(guarded.url, token === undefined ? {} : { token });
      await expect(attempt).rejects.toBeInstanceOf(WorkerRefusedError);
      await expect(attempt).rejects.toMatchObject({ code: ErrorCode.BadToken });
    }
    const vec = await RemoteVecEnv.connect(guarded.url, { token: 's3cret-token' });
    await vec.reset({ seed: 0 });
    await vec.close();
  });

  it('refuses another protocol version', async () => {
    const ws = new WebSocket(guarded.url);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', protocol: 99, token: 's3cret-token' }));
    const [reply, closed] = await Promise.all([new Promise<string>((r) => ws.once('message', (d) => r(String(d)))), new Promise<number>((r) => ws.once('close', (code) => r(code)))]);
    expect(JSON.parse(reply)).toMatchObject({ type: 'error', code: ErrorCode.BadVersion });
    expect(closed).toBe(CloseCode.BadVersion);
  });

  it('closes a connection whose frame exceeds the maximum size, and stays up', async () => {
    const ws = new WebSocket(guarded.url);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, token: 's3cret-token' }));
    await new Promise((r) => ws.once('message', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(Buffer.alloc(1024 * 1024));
    expect(await closed).toBe(1009); // RFC 6455: message too big
    const vec = await RemoteVecEnv.connect(guarded.url, { token: 's3cret-token' });
    await vec.reset();
    await vec.close();
  });
});

/** A raw client session for the fuzz test: every binary frame it receives, in order. */
async function rawSession(url: string): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<number>; waitFor: (n: number) => Promise<void> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
  await new Promise((r) => ws.once('message', r));
  const frames: Buffer[] = [];
  let notify: (() => void) | null = null;
  ws.on('message', (d) => {
    frames.push(d as Buffer);
    notify?.();
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => (r(code), notify?.())));
  const waitFor = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (frames.length < n) {
      if (ws.readyState === WebSocket.CLOSED || Date.now() > deadline) throw new Error(`got ${frames.length} frames, expected ${n}`);
      await new Promise<void>((r) => {
        notify = r;
        setTimeout(r, 50);
      });
    }
  };
  return { ws, frames, closed, waitFor };
}

describe('fuzzing the worker', () => {
  it('answers thousands of random and cut-off frames each with an error frame, and stays up', async () => {
    const w = await worker({ envId: 'CartPole-v1', numEnvs: 4, maxBadFrames: 32 });
    const rng = new Rng(2024);
    const z = { numEnvs: 4, numSlots: 4, obsSize: 4, actionSize: 1, actionDtype: 'int32' as const };
    const valid = [encodeStep(z, 1, new Int32Array(4)), encodeReset({ seq: 1, seed: 5, options: { a: 1 } }), encodeReset({ seq: 1 })];
    const garbage = (): Buffer | string => {
      const kind = rng.integer(6);
      if (kind === 0) return Buffer.from(Array.from({ length: rng.integer(64) }, () => rng.integer(256))); // random bytes
      if (kind === 1) {
        const which = rng.integer(valid.length);
        const v = valid[which]!;
        // Cut off anywhere, except right after the seed of the reset with options (a valid reset without).
        return v.subarray(0, which === 1 ? 25 + rng.integer(v.byteLength - 25) : rng.integer(v.byteLength));
      }
      if (kind === 2) {
        const v = Buffer.from(valid[rng.integer(valid.length)]!);
        v[0] = [0, 3, 0x11, 0x12, 0x7f, 200][rng.integer(6)]!; // unknown or worker-only type
        return v;
      }
      if (kind === 3) return encodeStep(z, 1, Int32Array.from({ length: 4 }, () => 2 + rng.integer(1000))); // actions out of range
      if (kind === 4) return JSON.stringify({ type: 'step', actions: [0, 1, 0, 1] }); // JSON on the hot path
      const copy = Buffer.from(valid[rng.integer(valid.length)]!); // a valid frame with a corrupted reserved byte
      copy[1 + rng.integer(3)] = 1 + rng.integer(255);
      return copy;
    };
    let sent = 0;
    let errors = 0;
    const codes = new Set<number>();
    // Batches below maxBadFrames, each followed by a valid reset that must still be answered.
    let session = await rawSession(w.url);
    for (let batch = 0; batch < 125; batch++) {
      const start = session.frames.length;
      for (let k = 0; k < 16; k++) {
        session.ws.send(garbage());
        sent += 1;
      }
      session.ws.send(encodeReset({ seq: 4242, seed: batch }));
      await session.waitFor(start + 17);
      const replies = session.frames.slice(start, start + 17);
      for (const f of replies.slice(0, 16)) {
        expect(readHeader(f).type).toBe(FrameType.Error);
        codes.add(decodeError(f).code);
        errors += 1;
      }
      expect(readHeader(replies[16]!)).toEqual({ type: FrameType.ResetResult, seq: 4242 });
    }
    expect(sent).toBe(2000);
    expect(errors).toBe(sent);
    expect([...codes].sort()).toEqual(expect.arrayContaining([ErrorCode.MalformedFrame, ErrorCode.UnknownType, ErrorCode.BadLength, ErrorCode.TextFrame, ErrorCode.InvalidAction]));
    // Bad frames in a row: each answered, then the session is closed.
    const start = session.frames.length;
    for (let k = 0; k < 40; k++) session.ws.send(Buffer.from([9, 9, 9]));
    expect(await session.closed).toBe(CloseCode.TooManyErrors);
    expect(session.frames.length - start).toBe(32);
    // The worker is still up and serves a proper client.
    session = await rawSession(w.url);
    session.ws.close();
    const vec = await RemoteVecEnv.connect(w.url);
    await checkVecEnv(vec);
    await vec.close();
    expect(w.child.exitCode).toBeNull();
  });
});

describe('faults', () => {
  it('kill -9 of a worker: its in-flight episodes end truncated, the others carry on, it rejoins on restart', async () => {
    let [a, b] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 3 }), worker({ envId: 'CartPole-v1', numEnvs: 3 })]);
    const multi = await MultiVecEnv.connect([a.url, b.url], { reconnectDelayMs: 50, maxReconnectDelayMs: 200, stepTimeoutMs: 5000 });
    try {
      const rng = new Rng(1);
      let prev = await multi.reset({ seed: 0 }).then((r) => ({ obs: r.obs.slice(), ended: new Uint8Array(6), length: new Int32Array(6) }));
      const step = async (): Promise<VecStepResult> => {
        const r = await multi.step(randomActions(multi, rng));
        return r;
      };
      const track = (r: VecStepResult): void => {
        for (let s = 0; s < 6; s++) {
          if (r.info.autoreset[s]) prev.length[s] = 0;
          else prev.length[s]! += 1;
          prev.ended[s] = r.terminated[s] || r.truncated[s] ? 1 : 0;
          if (prev.ended[s]) prev.length[s] = 0;
        }
        prev.obs = r.obs.slice();
      };
      for (let t = 0; t < 30; t++) track(await step());

      await killWorker(a);
      const lostAt = await step();
      expect(multi.stats.losses).toBe(1);
      for (let env = 0; env < 3; env++) {
        expect(lostAt.info.autoreset[env]).toBe(1); // not a transition: the trainer masks it
        expect(lostAt.rewards[env]).toBe(0);
        expect(lostAt.terminated[env]).toBe(0);
        // The observation stays the last one received; no byte of a half-sent frame shows up.
        expect(bits(lostAt.obs.subarray(env * 4, env * 4 + 4))).toBe(bits(prev.obs.subarray(env * 4, env * 4 + 4)));
        const inFlight = !prev.ended[env] && prev.length[env]! > 0;
        expect(lostAt.truncated[env]).toBe(inFlight ? 1 : 0);
        if (inFlight) {
          expect(bits(lostAt.info.finalObs.subarray(env * 4, env * 4 + 4))).toBe(bits(prev.obs.subarray(env * 4, env * 4 + 4)));
          expect(lostAt.info.episodes.find((e) => e.env === env)).toMatchObject({ length: prev.length[env] });
        }
      }
      // The other worker's envs stepped normally.
      expect(lostAt.info.episodes.every((e) => e.env < 3 || lostAt.terminated[e.env] || lostAt.truncated[e.env])).toBe(true);
      const live = lostAt.obs.slice(12);
      expect(bits(live)).not.toBe(bits(prev.obs.slice(12)));
      track(lostAt);

      // While it is away: rows frozen, masked, no flags; the other part keeps stepping.
      for (let t = 0; t < 5; t++) {
        const r = await step();
        expect(Array.from(r.info.autoreset.subarray(0, 3))).toEqual([1, 1, 1]);
        expect(Array.from(r.truncated.subarray(0, 3))).toEqual([0, 0, 0]);
        track(r);
      }

      a = await worker({ envId: 'CartPole-v1', numEnvs: 3, port: a.port });
      const deadline = Date.now() + 15_000;
      let rejoined: VecStepResult | null = null;
      while (!rejoined && Date.now() < deadline) {
        const r = await step();
        if (multi.stats.rejoins === 1) rejoined = r;
        else await new Promise((res) => setTimeout(res, 20));
      }
      expect(rejoined).not.toBeNull();
      expect(Array.from(rejoined!.info.autoreset.subarray(0, 3))).toEqual([1, 1, 1]); // first observations of fresh episodes
      const after = await step();
      expect(Array.from(after.info.autoreset.subarray(0, 3))).toEqual([0, 0, 0]);
      expect(multi.liveParts).toBe(2);
    } finally {
      await multi.close();
      await killWorker(b);
    }
  });

  it('a slow worker does not stall the others beyond its step timeout', async () => {
    const [slow, fast] = await Promise.all([worker({ envId: 'CartPole-v1', numEnvs: 2, stepDelayMs: 3000 }), worker({ envId: 'CartPole-v1', numEnvs: 2 })]);
    const multi = await MultiVecEnv.connect([slow.url, fast.url], { stepTimeoutMs: 300, reconnectDelayMs: 10_000 });
    try {
      await multi.reset({ seed: 0 });
      const started = performance.now();
      const r = await multi.step(multi.createActionBuffer());
      const ms = performance.now() - started;
      expect(ms).toBeLessThan(1500);
      expect(multi.stats.losses).toBe(1);
      expect(Array.from(r.info.autoreset)).toEqual([1, 1, 0, 0]);
      expect(Array.from(r.truncated.subarray(0, 2))).toEqual([0, 0]); // no step had been taken since the reset
      const again = await multi.step(multi.createActionBuffer());
      expect(Array.from(again.info.autoreset.subarray(2))).toEqual([0, 0]);
    } finally {
      await multi.close();
    }
  });
});
