/**
 * The VLM-RM reward (Rocamonde et al. 2023, "Vision-Language Models are Zero-Shot Reward Models for
 * Reinforcement Learning", §4): with s the unit-normalised embedding of the rendered state, g and b the
 * goal and baseline embeddings (each the mean of its prompts' unit-normalised embeddings) and L the line
 * through b and g,
 *
 *   R(s) = 1 − ½·‖α·proj_L(s) + (1 − α)·s − g‖²,   proj_L(s) = b + d·dᵀ(s − b)/‖d‖²,  d = g − b.
 *
 * Expanding proj_L gives the form computed here, R = 1 − ½·‖P(s − g)‖² with P = α·d·dᵀ/‖d‖² + (1 − α)·I
 * (both forms agree because P·(g − b) = g − b). α = 0 is the plain CLIP reward 1 − ½‖s − g‖², which for a
 * single goal prompt equals cos(s, g); α = 1 keeps only the component of s − g along the goal − baseline
 * direction.
 */
import { VlmRewardError } from './errors';

/** v / ‖v‖ (a copy); a zero vector is refused (it has no direction). */
export function unitNormalize(v: ArrayLike<number>, what = 'embedding'): Float64Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i]! * v[i]!;
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new VlmRewardError(`${what} has norm ${norm}: it cannot be normalised`);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/** The mean of the unit-normalised rows of `rows` (count × dim, row after row): a prompt list's embedding. */
export function meanOfNormalized(rows: ArrayLike<number>, count: number, dim: number, what = 'prompt'): Float64Array {
  if (count < 1) throw new VlmRewardError(`the ${what} list is empty`);
  const out = new Float64Array(dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) row[i] = rows[r * dim + i]!;
    const u = unitNormalize(row, `${what} ${r}'s embedding`);
    for (let i = 0; i < dim; i++) out[i]! += u[i]! / count;
  }
  return out;
}

/** The goal, the baseline and α of one VLM reward, with the goal − baseline direction precomputed. */
export class VlmRewardBasis {
  readonly dim: number;
  /** d / ‖d‖, d = g − b (zeros without a baseline). */
  private readonly direction: Float64Array;
  private readonly scratch: Float64Array;

  constructor(
    readonly goal: Float64Array,
    readonly baseline: Float64Array | null,
    readonly alpha: number,
  ) {
    if (!(alpha >= 0 && alpha <= 1)) throw new VlmRewardError(`alpha must be within [0, 1], got ${alpha}`);
    if (baseline && baseline.length !== goal.length) throw new VlmRewardError(`the goal embedding has ${goal.length} entries and the baseline ${baseline.length}`);
    if (!baseline && alpha > 0) throw new VlmRewardError(`alpha ${alpha} needs baseline prompts (alpha > 0 projects onto the line from the baseline to the goal)`);
    this.dim = goal.length;
    this.direction = new Float64Array(this.dim);
    this.scratch = new Float64Array(this.dim);
    if (baseline) {
      let sq = 0;
      for (let i = 0; i < this.dim; i++) sq += (goal[i]! - baseline[i]!) ** 2;
      const norm = Math.sqrt(sq);
      if (alpha > 0 && !(norm > 1e-12)) throw new VlmRewardError('the goal and baseline prompts embed to the same point: there is no direction to project on (alpha > 0)');
      if (norm > 0) for (let i = 0; i < this.dim; i++) this.direction[i] = (goal[i]! - baseline[i]!) / norm;
    }
  }

  /**
   * R for one state embedding `s` (raw or normalised: it is normalised here), reading `dim` values from
   * `offset` of `embeddings`.
   */
  reward(embeddings: ArrayLike<number>, offset = 0): number {
    const { dim, goal, alpha, direction } = this;
    const x = this.scratch;
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += embeddings[offset + i]! * embeddings[offset + i]!;
    const norm = Math.sqrt(sq);
    if (!(norm > 0) || !Number.isFinite(norm)) throw new VlmRewardError(`a frame's embedding has norm ${norm}: it cannot be normalised`);
    // x = s − g; P·x = α·(d̂·x)·d̂ + (1 − α)·x.
    let along = 0;
    for (let i = 0; i < dim; i++) {
      x[i] = embeddings[offset + i]! / norm - goal[i]!;
      along += direction[i]! * x[i]!;
    }
    let out = 0;
    for (let i = 0; i < dim; i++) {
      const p = alpha * along * direction[i]! + (1 - alpha) * x[i]!;
      out += p * p;
    }
    return 1 - 0.5 * out;
  }

  /** R for every row of `embeddings` (count × dim). */
  rewards(embeddings: ArrayLike<number>, count: number, out = new Float64Array(count)): Float64Array {
    for (let k = 0; k < count; k++) out[k] = this.reward(embeddings, k * this.dim);
    return out;
  }
}
