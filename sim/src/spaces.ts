/**
 * Spaces: plain, JSON-serialisable descriptors of what an env accepts and returns (DESIGN.md), so they
 * cross the wire to sim workers, the API and the viewer unchanged. Gymnasium's Box, Discrete,
 * MultiDiscrete and Dict, as data plus functions.
 *
 * Values: a box holds a `Float32Array` (or number[]) of `prod(shape)` numbers in row-major order; a
 * discrete space an integer in [0, n); a multi-discrete space an `Int32Array` (or number[]) with
 * entry i in [0, nvec[i]); a dict space an object with exactly the descriptor's keys.
 */
import { describeValue, Rng } from './rng';

export interface BoxSpace {
  readonly kind: 'box';
  readonly shape: readonly number[];
  /** A scalar bound for every entry, or one bound per entry (flat, row-major). May be ±Infinity. */
  readonly low: number | readonly number[];
  readonly high: number | readonly number[];
}
export interface DiscreteSpace {
  readonly kind: 'discrete';
  readonly n: number;
}
export interface MultiDiscreteSpace {
  readonly kind: 'multi-discrete';
  readonly nvec: readonly number[];
}
export interface DictSpace {
  readonly kind: 'dict';
  readonly spaces: { readonly [key: string]: Space };
}
export type Space = BoxSpace | DiscreteSpace | MultiDiscreteSpace | DictSpace;

/** The largest float32: the bound to use for an unbounded box entry, since JSON has no Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export type BoxValue = Float32Array | Float64Array | readonly number[];
export type MultiDiscreteValue = Int32Array | readonly number[];
export type SpaceValue = number | BoxValue | MultiDiscreteValue | { readonly [key: string]: SpaceValue };

/** Thrown for a malformed space descriptor. */
export class SpaceError extends Error {
  override name = 'SpaceError';
}

export function box(shape: readonly number[], low: number | readonly number[], high: number | readonly number[]): BoxSpace {
  return validateSpace({ kind: 'box', shape: [...shape], low: typeof low === 'number' ? low : [...low], high: typeof high === 'number' ? high : [...high] }) as BoxSpace;
}
export function discrete(n: number): DiscreteSpace {
  return validateSpace({ kind: 'discrete', n }) as DiscreteSpace;
}
export function multiDiscrete(nvec: readonly number[]): MultiDiscreteSpace {
  return validateSpace({ kind: 'multi-discrete', nvec: [...nvec] }) as MultiDiscreteSpace;
}
export function dict(spaces: { [key: string]: Space }): DictSpace {
  return validateSpace({ kind: 'dict', spaces: { ...spaces } }) as DictSpace;
}

function isPositiveInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/** Checks a descriptor (for instance one received over the wire) and returns it, or throws a SpaceError naming the problem. */
export function validateSpace(space: unknown, path = 'space'): Space {
  if (typeof space !== 'object' || space === null) throw new SpaceError(`${path}: expected a space descriptor object, got ${describeValue(space)}`);
  const s = space as Record<string, unknown>;
  switch (s.kind) {
    case 'box': {
      if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
        throw new SpaceError(`${path}: box shape must be an array of non-negative integers, got ${describeValue(s.shape)}`);
      }
      const size = (s.shape as number[]).reduce((a, b) => a * b, 1);
      for (const bound of ['low', 'high'] as const) {
        const b = s[bound];
        if (typeof b === 'number') {
          if (Number.isNaN(b)) throw new SpaceError(`${path}: box ${bound} is NaN`);
        } else if (Array.isArray(b)) {
          if (b.length !== size) throw new SpaceError(`${path}: box ${bound} has ${b.length} entries, shape [${(s.shape as number[]).join(', ')}] needs ${size}`);
          const bad = b.findIndex((v) => typeof v !== 'number' || Number.isNaN(v));
          if (bad >= 0) throw new SpaceError(`${path}: box ${bound}[${bad}] is ${describeValue(b[bad])}, not a number`);
        } else {
          throw new SpaceError(`${path}: box ${bound} must be a number or an array of numbers, got ${describeValue(b)}`);
        }
      }
      const box = s as unknown as BoxSpace;
      for (let i = 0; i < size; i++) {
        if (boundAt(box.low, i) > boundAt(box.high, i)) throw new SpaceError(`${path}: box low[${i}] = ${boundAt(box.low, i)} exceeds high[${i}] = ${boundAt(box.high, i)}`);
      }
      return box;
    }
    case 'discrete':
      if (!isPositiveInt(s.n)) throw new SpaceError(`${path}: discrete n must be a positive integer, got ${describeValue(s.n)}`);
      return s as unknown as DiscreteSpace;
    case 'multi-discrete':
      if (!Array.isArray(s.nvec) || s.nvec.length === 0 || !s.nvec.every(isPositiveInt)) {
        throw new SpaceError(`${path}: multi-discrete nvec must be a non-empty array of positive integers, got ${describeValue(s.nvec)}`);
      }
      return s as unknown as MultiDiscreteSpace;
    case 'dict': {
      if (typeof s.spaces !== 'object' || s.spaces === null || Array.isArray(s.spaces)) {
        throw new SpaceError(`${path}: dict spaces must be an object of spaces, got ${describeValue(s.spaces)}`);
      }
      const entries = Object.entries(s.spaces as Record<string, unknown>);
      if (entries.length === 0) throw new SpaceError(`${path}: dict space has no entries`);
      for (const [key, sub] of entries) validateSpace(sub, `${path}.${key}`);
      return s as unknown as DictSpace;
    }
    default:
      throw new SpaceError(`${path}: unknown space kind ${describeValue(s.kind)} (expected box, discrete, multi-discrete or dict)`);
  }
}

function boundAt(bound: number | readonly number[], i: number): number {
  return typeof bound === 'number' ? bound : bound[i]!;
}

/** Number of entries in a box. */
export function boxSize(space: BoxSpace): number {
  return space.shape.reduce((a, b) => a * b, 1);
}

/** Per-entry lower and upper bounds of a box as Float64Arrays. */
export function boxBounds(space: BoxSpace): { low: Float64Array; high: Float64Array } {
  const n = boxSize(space);
  const low = new Float64Array(n);
  const high = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    low[i] = boundAt(space.low, i);
    high[i] = boundAt(space.high, i);
  }
  return { low, high };
}

/** Gymnasium's `flatdim`: box → its size, discrete → n (one-hot), multi-discrete → Σ nvec, dict → Σ of its parts. */
export function flatDim(space: Space): number {
  switch (space.kind) {
    case 'box':
      return boxSize(space);
    case 'discrete':
      return space.n;
    case 'multi-discrete':
      return space.nvec.reduce((a, b) => a + b, 0);
    case 'dict':
      return Object.values(space.spaces).reduce((a, s) => a + flatDim(s), 0);
  }
}

/** How many numbers one action of this space takes in a flat action buffer (discrete: 1 index). */
export function actionLength(space: Space): number {
  switch (space.kind) {
    case 'box':
      return boxSize(space);
    case 'discrete':
      return 1;
    case 'multi-discrete':
      return space.nvec.length;
    case 'dict':
      throw new SpaceError('dict action spaces cannot be laid out in a flat action buffer; flatten the env first');
  }
}

/** Writes Gymnasium's `flatten(space, x)` into `out` at `offset` and returns the offset after it. */
export function flattenInto(space: Space, x: SpaceValue, out: Float32Array, offset = 0): number {
  switch (space.kind) {
    case 'box': {
      const v = x as BoxValue;
      const n = boxSize(space);
      for (let i = 0; i < n; i++) out[offset + i] = v[i]!;
      return offset + n;
    }
    case 'discrete':
      out.fill(0, offset, offset + space.n);
      out[offset + (x as number)] = 1;
      return offset + space.n;
    case 'multi-discrete': {
      const v = x as MultiDiscreteValue;
      for (let i = 0; i < space.nvec.length; i++) {
        out.fill(0, offset, offset + space.nvec[i]!);
        out[offset + v[i]!] = 1;
        offset += space.nvec[i]!;
      }
      return offset;
    }
    case 'dict': {
      const v = x as { [key: string]: SpaceValue };
      for (const key of Object.keys(space.spaces)) offset = flattenInto(space.spaces[key]!, v[key]!, out, offset);
      return offset;
    }
  }
}

/** The flat box that `flattenInto` maps a space onto. */
export function flattenSpace(space: Space): BoxSpace {
  if (space.kind === 'box') return { kind: 'box', shape: [boxSize(space)], low: space.low, high: space.high };
  const low: number[] = [];
  const high: number[] = [];
  const collect = (s: Space): void => {
    if (s.kind === 'box') {
      const b = boxBounds(s);
      low.push(...b.low);
      high.push(...b.high);
    } else if (s.kind === 'dict') {
      for (const sub of Object.values(s.spaces)) collect(sub);
    } else {
      const n = flatDim(s);
      for (let i = 0; i < n; i++) {
        low.push(0);
        high.push(1);
      }
    }
  };
  collect(space);
  return { kind: 'box', shape: [low.length], low, high };
}

/** A uniformly random member: bounded box entries uniform, half-bounded ones shifted exponentials, unbounded ones normal (as Gymnasium samples). */
export function sampleSpace(space: Space, rng: Rng): SpaceValue {
  switch (space.kind) {
    case 'box': {
      const n = boxSize(space);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = boundAt(space.low, i);
        const hi = boundAt(space.high, i);
        let v: number;
        if (Number.isFinite(lo) && Number.isFinite(hi)) v = rng.uniform(lo, hi);
        else if (Number.isFinite(lo)) v = lo - Math.log(1 - rng.random());
        else if (Number.isFinite(hi)) v = hi + Math.log(1 - rng.random());
        else v = rng.normal();
        // Rounding to float32 is monotonic, so the sample stays inside the float32-compared bounds.
        out[i] = v;
      }
      return out;
    }
    case 'discrete':
      return rng.integer(space.n);
    case 'multi-discrete': {
      const out = new Int32Array(space.nvec.length);
      for (let i = 0; i < out.length; i++) out[i] = rng.integer(space.nvec[i]!);
      return out;
    }
    case 'dict': {
      const out: { [key: string]: SpaceValue } = {};
      for (const [key, sub] of Object.entries(space.spaces)) out[key] = sampleSpace(sub, rng);
      return out;
    }
  }
}

function isNumericArray(x: unknown): x is ArrayLike<number> {
  return (ArrayBuffer.isView(x) && !(x instanceof DataView)) || Array.isArray(x);
}

/**
 * Why `x` is not a member of `space`, as a sentence naming the first offending entry, or null when it is.
 * Box bounds are compared in float32, the precision observations and actions travel in.
 */
export function whyNotContained(space: Space, x: unknown): string | null {
  switch (space.kind) {
    case 'box': {
      if (!isNumericArray(x)) return `expected ${boxSize(space)} numbers for ${formatSpace(space)}, got ${describeValue(x)}`;
      const n = boxSize(space);
      if (x.length !== n) return `expected ${n} numbers for ${formatSpace(space)}, got ${x.length}`;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (typeof v !== 'number' || Number.isNaN(v)) return `entry ${i} is ${describeValue(v)}, not a number`;
        if (Math.fround(v) < Math.fround(boundAt(space.low, i)) || Math.fround(v) > Math.fround(boundAt(space.high, i))) {
          return `entry ${i} = ${v} is outside [${boundAt(space.low, i)}, ${boundAt(space.high, i)}]`;
        }
      }
      return null;
    }
    case 'discrete':
      if (typeof x !== 'number' || !Number.isInteger(x)) return `expected an integer in [0, ${space.n}) for ${formatSpace(space)}, got ${describeValue(x)}`;
      if (x < 0 || x >= space.n) return `${x} is outside ${formatSpace(space)} (valid: 0…${space.n - 1})`;
      return null;
    case 'multi-discrete': {
      if (!isNumericArray(x)) return `expected ${space.nvec.length} integers for ${formatSpace(space)}, got ${describeValue(x)}`;
      if (x.length !== space.nvec.length) return `expected ${space.nvec.length} integers for ${formatSpace(space)}, got ${x.length}`;
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        if (!Number.isInteger(v)) return `entry ${i} is ${describeValue(v)}, not an integer`;
        if (v < 0 || v >= space.nvec[i]!) return `entry ${i} = ${v} is outside [0, ${space.nvec[i]! - 1}]`;
      }
      return null;
    }
    case 'dict': {
      if (typeof x !== 'object' || x === null || isNumericArray(x)) return `expected an object with keys ${Object.keys(space.spaces).join(', ')}, got ${describeValue(x)}`;
      const keys = Object.keys(space.spaces);
      const extra = Object.keys(x).filter((k) => !(k in space.spaces));
      if (extra.length) return `unexpected key ${extra.map((k) => JSON.stringify(k)).join(', ')}`;
      for (const key of keys) {
        if (!(key in x)) return `missing key ${JSON.stringify(key)}`;
        const why = whyNotContained(space.spaces[key]!, (x as Record<string, unknown>)[key]);
        if (why) return `${key}: ${why}`;
      }
      return null;
    }
  }
}

export function spaceContains(space: Space, x: unknown): boolean {
  return whyNotContained(space, x) === null;
}

/** Gymnasium-like rendering for messages: Box(-2, 2, (1,)), Discrete(2), MultiDiscrete([3 3]), Dict(…). */
export function formatSpace(space: Space): string {
  switch (space.kind) {
    case 'box': {
      const num = (v: number): string => String(Number(v.toPrecision(6)));
      const bound = (b: number | readonly number[]): string => {
        if (typeof b === 'number') return num(b);
        return b.every((v) => v === b[0]) ? num(b[0]!) : `[${b.slice(0, 4).map(num).join(' ')}${b.length > 4 ? ' …' : ''}]`;
      };
      return `Box(${bound(space.low)}, ${bound(space.high)}, (${space.shape.join(', ')}${space.shape.length === 1 ? ',' : ''}))`;
    }
    case 'discrete':
      return `Discrete(${space.n})`;
    case 'multi-discrete':
      return `MultiDiscrete([${space.nvec.join(' ')}])`;
    case 'dict':
      return `Dict(${Object.entries(space.spaces).map(([k, s]) => `${k}: ${formatSpace(s)}`).join(', ')})`;
  }
}
