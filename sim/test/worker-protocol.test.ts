import { describe, expect, it } from 'vitest';
import {
  decodeError,
  decodeReset,
  decodeResetResult,
  decodeStep,
  decodeStepResult,
  encodeError,
  encodeReset,
  encodeResetResult,
  encodeStep,
  encodeStepResult,
  ErrorCode,
  FrameType,
  HEADER_BYTES,
  parseHello,
  ProtocolError,
  readHeader,
  stepFrameBytes,
  type EndedSlot,
  type FrameSizes,
  type StepResultBuffers,
} from '../src';

const z: FrameSizes = { numEnvs: 3, numSlots: 6, obsSize: 5, actionSize: 2, actionDtype: 'float32' };

function buffers(sizes: FrameSizes): StepResultBuffers {
  return {
    obs: new Float32Array(sizes.numSlots * sizes.obsSize),
    rewards: new Float32Array(sizes.numSlots),
    terminated: new Uint8Array(sizes.numSlots),
    truncated: new Uint8Array(sizes.numSlots),
    autoreset: new Uint8Array(sizes.numEnvs),
    finalObs: new Float32Array(sizes.numSlots * sizes.obsSize),
  };
}

/** A step result where env 1 (slots 2, 3) ended: slot 2 terminated with success, slot 3 truncated. */
function sampleStepResult(): { b: StepResultBuffers; ended: EndedSlot[] } {
  const b = buffers(z);
  b.obs.forEach((_, i) => (b.obs[i] = i * 0.25 - 3));
  b.rewards.set([1, -2.5, 0.125, 3, 0, 1e30]);
  b.terminated[2] = 1;
  b.truncated[3] = 1;
  b.autoreset[0] = 1;
  b.finalObs.fill(7.5, 2 * z.obsSize, 4 * z.obsSize);
  return { b, ended: [{ slot: 2, length: 17, return: 12.75, success: 1 }, { slot: 3, length: 17, return: -0.5, success: -1 }] };
}

function expectCode(fn: () => unknown, code: number): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
    return;
  }
  throw new Error(`expected a ProtocolError with code ${code}`);
}

/** The frame as the worker receives it: at an odd offset inside a bigger buffer, as ws may hand it over. */
function unaligned(frame: Buffer): Buffer {
  const big = Buffer.alloc(frame.byteLength + 3);
  frame.copy(big, 1);
  return big.subarray(1, 1 + frame.byteLength);
}

describe('sim-worker protocol codec', () => {
  it('puts the type and sequence number in an 8-byte little-endian header', () => {
    const frame = encodeStep(z, 0x01020304, new Float32Array(12));
    expect(frame.byteLength).toBe(HEADER_BYTES + 12 * 4);
    expect([...frame.subarray(0, 8)]).toEqual([FrameType.Step, 0, 0, 0, 0x04, 0x03, 0x02, 0x01]);
    expect(readHeader(frame)).toEqual({ type: FrameType.Step, seq: 0x01020304 });
  });

  it('round-trips a reset with a seed and options, and one without either', () => {
    expect(decodeReset(unaligned(encodeReset({ seq: 9, seed: 2 ** 40 + 3, options: { difficulty: 2, name: 'ä' } })))).toEqual({ seq: 9, seed: 2 ** 40 + 3, options: { difficulty: 2, name: 'ä' } });
    expect(decodeReset(encodeReset({ seq: 10 }))).toEqual({ seq: 10 });
  });

  it('round-trips float32 and int32 actions bit for bit', () => {
    const actions = Float32Array.from({ length: 12 }, (_, i) => Math.fround(i / 3 - 1.7));
    const into = new Float32Array(12);
    expect(decodeStep(z, unaligned(encodeStep(z, 5, actions)), into)).toBe(5);
    expect(into).toEqual(actions);
    const zi: FrameSizes = { ...z, actionSize: 1, actionDtype: 'int32' };
    const ints = Int32Array.from([0, 1, 89, 2, -1, 2147483647]);
    const intoInts = new Int32Array(6);
    decodeStep(zi, encodeStep(zi, 6, Array.from(ints)), intoInts);
    expect(intoInts).toEqual(ints);
  });

  it('round-trips a reset result', () => {
    const obs = Float32Array.from({ length: 30 }, (_, i) => i - 0.5);
    const out = new Float32Array(30);
    expect(decodeResetResult(z, unaligned(encodeResetResult(z, 77, obs)), out)).toBe(77);
    expect(out).toEqual(obs);
  });

  it('round-trips a step result with its ended slots and their final observations', () => {
    const { b, ended } = sampleStepResult();
    const frame = encodeStepResult(z, 3, b, ended);
    const out = buffers(z);
    const outEnded: EndedSlot[] = [];
    expect(decodeStepResult(z, unaligned(frame), out, outEnded)).toBe(3);
    expect(out.obs).toEqual(b.obs);
    expect(out.rewards).toEqual(b.rewards);
    expect(out.terminated).toEqual(b.terminated);
    expect(out.truncated).toEqual(b.truncated);
    expect(out.autoreset).toEqual(b.autoreset);
    expect(outEnded).toEqual(ended);
    expect(out.finalObs.subarray(2 * z.obsSize, 4 * z.obsSize)).toEqual(b.finalObs.subarray(2 * z.obsSize, 4 * z.obsSize));
    // Rows of slots that did not end are not sent, so the receiver's stale rows stay as they were.
    expect(out.finalObs.subarray(0, 2 * z.obsSize).every((x) => x === 0)).toBe(true);
  });

  it('round-trips an error frame', () => {
    expect(decodeError(encodeError(4, ErrorCode.InvalidAction, 'slot 3: action 7 is not in discrete(2)'))).toEqual({ seq: 4, code: ErrorCode.InvalidAction, message: 'slot 3: action 7 is not in discrete(2)' });
  });

  it('rejects every cut-off prefix of a valid frame', () => {
    const { b, ended } = sampleStepResult();
    const result = encodeStepResult(z, 3, b, ended);
    for (let n = 0; n < result.byteLength; n++) expect(() => decodeStepResult(z, result.subarray(0, n), buffers(z), [])).toThrow(ProtocolError);
    const step = encodeStep(z, 1, new Float32Array(12));
    for (let n = 0; n < step.byteLength; n++) expect(() => decodeStep(z, step.subarray(0, n), new Float32Array(12))).toThrow(ProtocolError);
    const reset = encodeReset({ seq: 1, seed: 3 });
    for (let n = 0; n < reset.byteLength; n++) expect(() => decodeReset(reset.subarray(0, n))).toThrow(ProtocolError);
  });

  it('rejects non-finite actions, observations and rewards', () => {
    expectCode(() => decodeStep(z, encodeStep(z, 1, new Float32Array(12).fill(NaN)), new Float32Array(12)), ErrorCode.NotFinite);
    expectCode(() => decodeStep(z, encodeStep(z, 1, new Float32Array(12).fill(Infinity)), new Float32Array(12)), ErrorCode.NotFinite);
    const { b, ended } = sampleStepResult();
    b.rewards[0] = NaN;
    expectCode(() => decodeStepResult(z, encodeStepResult(z, 1, b, ended), buffers(z), []), ErrorCode.NotFinite);
    const obs = new Float32Array(30);
    obs[29] = -Infinity;
    expectCode(() => decodeResetResult(z, encodeResetResult(z, 1, obs), new Float32Array(30)), ErrorCode.NotFinite);
  });

  it('rejects wrong lengths, flags and inconsistent episode records', () => {
    expectCode(() => decodeStep(z, Buffer.concat([encodeStep(z, 1, new Float32Array(12)), Buffer.alloc(4)]), new Float32Array(12)), ErrorCode.BadLength);
    expect(stepFrameBytes(z)).toBe(8 + 12 * 4);
    const { b, ended } = sampleStepResult();
    const flags = encodeStepResult(z, 1, b, ended);
    flags[8 + 30 * 4 + 6 * 4] = 2; // terminated[0] = 2
    expectCode(() => decodeStepResult(z, flags, buffers(z), []), ErrorCode.BadFlags);
    // An ended record for a slot without terminated/truncated.
    const c = sampleStepResult();
    c.b.truncated[3] = 0;
    expectCode(() => decodeStepResult(z, encodeStepResult(z, 1, c.b, c.ended), buffers(z), []), ErrorCode.BadFlags);
    // A slot flagged as ended without a record.
    expectCode(() => decodeStepResult(z, encodeStepResult(z, 1, b, ended.slice(0, 1)), buffers(z), []), ErrorCode.BadFlags);
    // Reserved header bytes.
    const reserved = encodeReset({ seq: 1 });
    reserved[2] = 1;
    expectCode(() => decodeReset(reserved), ErrorCode.MalformedFrame);
    // A reset seed that is not a non-negative integer.
    const seed = encodeReset({ seq: 1, seed: 0 });
    seed.writeDoubleLE(1.5, 16);
    expectCode(() => decodeReset(seed), ErrorCode.NotFinite);
    expectCode(() => decodeReset(Buffer.concat([encodeReset({ seq: 1 }), Buffer.from('[1,2]')])), ErrorCode.BadOptions);
  });

  it('checks the hello: JSON object, type, integer protocol, string token, known autoreset mode', () => {
    expect(parseHello('{"type":"hello","protocol":1,"token":"t","autoreset":"same-step"}')).toEqual({ type: 'hello', protocol: 1, token: 't', autoreset: 'same-step' });
    for (const bad of ['nope', '[]', '{"type":"hi","protocol":1}', '{"type":"hello","protocol":"1"}', '{"type":"hello","protocol":1,"token":5}', '{"type":"hello","protocol":1,"autoreset":"never"}']) {
      expectCode(() => parseHello(bad), ErrorCode.BadHello);
    }
  });
});
