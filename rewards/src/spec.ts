/**
 * Reward specs (DESIGN.md "Reward specs"): JSON trees of terms, KRC nodes and weighted sums, each node
 * optionally paid as a potential difference or gated, plus team spirit and the learner's return
 * transforms. `parseRewardSpec` validates a preset name, a file path, a JSON string or an object and
 * returns the spec with every default filled in (so a parsed spec is its own JSON and parses again).
 *
 * ```json
 * { "gamma": 1, "teamSpirit": 0.3,
 *   "components": {
 *     "offensivePotential": { "krc": [{ "term": "alignBallGoal", "defense": 0.5, "offense": 0.5 },
 *                                     { "term": "velocityPlayerToBall" },
 *                                     { "term": "liuDistancePlayerToBall", "density": 1.1 }],
 *                             "potential": true, "weight": 1 },
 *     "goal": { "term": "event", "teamGoal": 1, "weight": 10 },
 *     "touch": { "term": "event", "touch": 1, "weight": 0.05, "gate": { "on": { "ref": "goal" }, "threshold": 0 } } },
 *   "transforms": [{ "type": "minForm", "temperature": 0.1 }] }
 * ```
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TERMS, TERM_NAMES } from './terms';

export interface GateSpec {
  /** The higher-priority reward (any node; `{ "ref": name }` for another component, `{ "term": "native" }` for the outcome). */
  on: RewardNodeSpec;
  /** The node pays only on steps where `on` ≥ threshold (G-RA). */
  threshold: number;
}

interface NodeCommon {
  /** Multiplies the node's value (after shaping and gating). Default 1. */
  weight?: number;
  /** Pay the node as γ·Φ(s′) − Φ(s) with Φ the node's value at a state (Φ(terminal) = 0). */
  potential?: boolean;
  gate?: GateSpec;
}
export interface TermNodeSpec extends NodeCommon {
  term: string;
  /** The term's parameters, beside the common keys. */
  [param: string]: unknown;
}
export interface KrcNodeSpec extends NodeCommon {
  krc: RewardNodeSpec[];
}
export interface SumNodeSpec extends NodeCommon {
  sum: RewardNodeSpec[];
}
export interface RefNodeSpec extends NodeCommon {
  ref: string;
}
/** A camera for a `vlm` node: a name from the env's scene cameras, or one given in full. */
export type VlmCameraSpec = string | { position: [number, number, number]; target: [number, number, number]; fovDeg: number; up?: [number, number, number] };
/**
 * A vision-language reward (VLM-RM, Rocamonde et al. 2023): the next state is rendered and embedded by a
 * CLIP-style model from a local directory and scored against the goal and baseline prompts.
 */
export interface VlmNodeSpec extends NodeCommon {
  vlm: {
    /** The model directory (Hugging Face CLIP ONNX layout: onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, preprocessor_config.json). */
    model: string;
    /** Goal prompts; their normalised embeddings are averaged. */
    goal: string[];
    /** Baseline prompts (what the goal is not); needed for alpha > 0. */
    baseline?: string[];
    /** 0: plain CLIP reward (cosine); 1: only the baseline → goal direction. Default 0.5 with a baseline, else 0. */
    alpha: number;
    camera?: VlmCameraSpec;
    /** Side of the rendered square frame in pixels (default: the model's input size). */
    size?: number;
    /** ONNX file variant: fp32 (default), fp16, quantized, … */
    dtype?: string;
  };
}
/**
 * A perceptual reward learned from demonstration videos (Sermanet, Xu & Levine 2016): the next state is
 * rendered as the demonstrations were, and scored by the reward model `rewardlab reward learn` wrote.
 */
export interface PerceptualNodeSpec extends NodeCommon {
  perceptual: {
    /** The reward model file (JSON). */
    model: string;
    /** Overrides the demonstrations' camera. */
    camera?: VlmCameraSpec;
    /** Overrides the demonstrations' frame side (pixels). */
    size?: number;
  };
}
export type RewardNodeSpec = TermNodeSpec | KrcNodeSpec | SumNodeSpec | RefNodeSpec | VlmNodeSpec | PerceptualNodeSpec;

export type ReturnTransformSpec =
  | { type: 'minForm'; temperature: number }
  | { type: 'clip'; eta: number }
  | { type: 'delta' }
  | { type: 'normalize'; clip: number; epsilon: number };

/** What users write: a RewardSpec with the defaults left out (parseRewardSpec fills them in). */
export interface RewardSpecInput {
  gamma?: number;
  teamSpirit?: number;
  components: Record<string, RewardNodeSpec>;
  transforms?: ReturnTransformInput[];
  description?: string;
}
export type ReturnTransformInput =
  | { type: 'minForm'; temperature?: number }
  | { type: 'clip'; eta?: number }
  | { type: 'delta' }
  | { type: 'normalize'; clip?: number; epsilon?: number };
/** A spec, its JSON input, a preset name, a file path or a JSON string. */
export type RewardSpecLike = RewardSpec | RewardSpecInput | string;

export interface RewardSpec {
  /** Discount of the potential shaping γ·Φ(s′) − Φ(s) (Lucy-SKG used 1). */
  gamma: number;
  /** τ of r′ᵢ = (1 − τ)·rᵢ + τ·mean(own team) − mean(opponents); absent: rewards stay individual. */
  teamSpirit?: number;
  /** Named components: the reward is their sum, and each is logged per step under its name. */
  components: Record<string, RewardNodeSpec>;
  /** Return transforms the learner applies to rollouts, in order. */
  transforms: ReturnTransformSpec[];
  description?: string;
}

export const NODE_KINDS = ['term', 'krc', 'sum', 'ref', 'vlm', 'perceptual'] as const;
const COMMON_KEYS = ['weight', 'potential', 'gate'];

export interface RewardSpecIssue {
  /** JSON path, e.g. `$.components.offensivePotential.krc[2].density`. */
  path: string;
  message: string;
  /** The names that would have been valid there (terms, components, parameters), where that applies. */
  validNames?: readonly string[];
}

/** A spec that does not validate; the message lists every issue with its JSON path. */
export class RewardSpecError extends Error {
  override name = 'RewardSpecError';
  constructor(readonly issues: readonly RewardSpecIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  }
}

function pathOf(base: string, keys: readonly PropertyKey[]): string {
  let p = base;
  for (const k of keys) p += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(String(k)) ? `.${String(k)}` : `[${JSON.stringify(String(k))}]`;
  return p;
}

function zodIssues(base: string, error: z.ZodError, validKeys?: readonly string[]): RewardSpecIssue[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys' && validKeys) message += ` (valid: ${validKeys.join(', ') || 'none'})`;
    return { path: pathOf(base, issue.path), message };
  });
}

const transformSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('minForm'), temperature: z.number().finite().positive().default(0.1) }),
  z.strictObject({ type: z.literal('clip'), eta: z.number().finite().default(0) }),
  z.strictObject({ type: z.literal('delta') }),
  z.strictObject({ type: z.literal('normalize'), clip: z.number().finite().positive().default(10), epsilon: z.number().finite().positive().default(1e-8) }),
]);

const topSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  gamma: z.number().finite().min(0).max(1).default(1),
  teamSpirit: z.number().finite().min(0).max(1).optional(),
  components: z.record(z.string().min(1), z.unknown()),
  transforms: z.array(transformSchema).default([]),
});

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function nodeKind(node: RewardNodeSpec): (typeof NODE_KINDS)[number] {
  if ('term' in node) return 'term';
  if ('krc' in node) return 'krc';
  if ('sum' in node) return 'sum';
  if ('vlm' in node) return 'vlm';
  if ('perceptual' in node) return 'perceptual';
  return 'ref';
}
export const isTermNode = (node: RewardNodeSpec): node is TermNodeSpec => 'term' in node;
export const isKrcNode = (node: RewardNodeSpec): node is KrcNodeSpec => !('term' in node) && 'krc' in node;
export const isSumNode = (node: RewardNodeSpec): node is SumNodeSpec => !('term' in node) && 'sum' in node;
export const isRefNode = (node: RewardNodeSpec): node is RefNodeSpec => !('term' in node) && 'ref' in node;
export const isVlmNode = (node: RewardNodeSpec): node is VlmNodeSpec => !('term' in node) && 'vlm' in node;
export const isPerceptualNode = (node: RewardNodeSpec): node is PerceptualNodeSpec => !('term' in node) && 'perceptual' in node;

const promptList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (typeof v === 'string' ? [v] : v))
  .superRefine((list, ctx) => {
    if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'the prompt list is empty: give at least one prompt' });
    list.forEach((p, i) => {
      if (p.trim() === '') ctx.addIssue({ code: 'custom', path: [i], message: 'a prompt is empty' });
    });
  });
const vec3 = z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]);
const vlmSchema = z
  .strictObject({
    model: z.string().min(1, 'the model directory is empty'),
    goal: promptList,
    baseline: promptList.optional(),
    alpha: z.number().finite().min(0, 'alpha must be within [0, 1]').max(1, 'alpha must be within [0, 1]').optional(),
    camera: z.union([z.string().min(1), z.strictObject({ position: vec3, target: vec3, fovDeg: z.number().gt(0).lt(180), up: vec3.optional() })]).optional(),
    size: z.number().int().min(8).max(2048).optional(),
    dtype: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.alpha !== undefined && v.alpha > 0 && !v.baseline) ctx.addIssue({ code: 'custom', path: ['alpha'], message: `alpha ${v.alpha} needs baseline prompts (it projects onto the line from the baseline to the goal); give "baseline" or alpha 0` });
  })
  .transform((v) => ({ ...v, alpha: v.alpha ?? (v.baseline ? 0.5 : 0) }));
const cameraSchema = z.union([z.string().min(1), z.strictObject({ position: vec3, target: vec3, fovDeg: z.number().gt(0).lt(180), up: vec3.optional() })]);
const perceptualSchema = z.strictObject({
  model: z.string().min(1, 'the reward model file is empty'),
  camera: cameraSchema.optional(),
  size: z.number().int().min(8).max(2048).optional(),
});
/** The valid keys of a `perceptual` node's parameters. */
export const PERCEPTUAL_PARAMS = ['model', 'camera', 'size'] as const;
/** The valid keys of a `vlm` node's parameters. */
export const VLM_PARAMS = ['model', 'goal', 'baseline', 'alpha', 'camera', 'size', 'dtype'] as const;

/** Validates one node (recursively) and returns it with defaults filled in; issues are collected. */
function parseNode(raw: unknown, path: string, componentNames: readonly string[], issues: RewardSpecIssue[]): RewardNodeSpec | null {
  if (!isRecord(raw)) {
    issues.push({ path, message: `expected a node object with one of ${NODE_KINDS.join(', ')}` });
    return null;
  }
  const kinds = NODE_KINDS.filter((k) => k in raw);
  if (kinds.length !== 1) {
    issues.push({ path, message: kinds.length ? `a node has exactly one of ${NODE_KINDS.join(', ')}; found ${kinds.join(', ')}` : `a node needs one of ${NODE_KINDS.join(', ')} (valid terms: ${TERM_NAMES.join(', ')})` });
    return null;
  }
  const kind = kinds[0]!;
  const out: Record<string, unknown> = {};
  const before = issues.length;
  if (raw.weight !== undefined) {
    if (typeof raw.weight !== 'number' || !Number.isFinite(raw.weight)) issues.push({ path: `${path}.weight`, message: `expected a finite number, got ${JSON.stringify(raw.weight)}` });
    else out.weight = raw.weight;
  }
  if (raw.potential !== undefined) {
    if (typeof raw.potential !== 'boolean') issues.push({ path: `${path}.potential`, message: `expected a boolean, got ${JSON.stringify(raw.potential)}` });
    else if (raw.potential) out.potential = true;
  }
  if (raw.gate !== undefined) {
    const g = raw.gate;
    if (!isRecord(g)) issues.push({ path: `${path}.gate`, message: 'expected { on: node, threshold: number }' });
    else {
      const extra = Object.keys(g).filter((k) => k !== 'on' && k !== 'threshold');
      if (extra.length) issues.push({ path: `${path}.gate`, message: `unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (valid: on, threshold)` });
      if (typeof g.threshold !== 'number' || !Number.isFinite(g.threshold)) issues.push({ path: `${path}.gate.threshold`, message: `expected a finite number, got ${JSON.stringify(g.threshold)}` });
      const on = parseNode(g.on, `${path}.gate.on`, componentNames, issues);
      if (on) out.gate = { on, threshold: g.threshold };
    }
  }
  if (kind === 'term') {
    const name = raw.term;
    const def = typeof name === 'string' ? TERMS[name] : undefined;
    if (!def) {
      issues.push({ path: `${path}.term`, message: `unknown term ${JSON.stringify(name)}; valid terms: ${TERM_NAMES.join(', ')}`, validNames: TERM_NAMES });
      return null;
    }
    const params = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'term' && !COMMON_KEYS.includes(k)));
    const parsed = (def.params as z.ZodType).safeParse(params);
    const validKeys = Object.keys((def.params as unknown as z.ZodObject).shape ?? {});
    if (!parsed.success) issues.push(...zodIssues(path, parsed.error, validKeys).map((i) => ({ ...i, validNames: validKeys, message: `${i.message} (term ${def.name} takes: ${validKeys.join(', ') || 'no parameters'})`.replace(/ \(valid: [^)]*\)/, '') })));
    else Object.assign(out, { term: def.name, ...(parsed.data as object) });
  } else if (kind === 'krc' || kind === 'sum') {
    const children = raw[kind];
    if (!Array.isArray(children) || children.length === 0) issues.push({ path: `${path}.${kind}`, message: 'expected a non-empty array of nodes' });
    else out[kind] = children.map((c, i) => parseNode(c, `${path}.${kind}[${i}]`, componentNames, issues));
    const extra = Object.keys(raw).filter((k) => k !== kind && !COMMON_KEYS.includes(k));
    if (extra.length) issues.push({ path, message: `unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (valid: ${kind}, ${COMMON_KEYS.join(', ')})` });
  } else if (kind === 'perceptual') {
    const parsed = perceptualSchema.safeParse(raw.perceptual);
    if (!parsed.success) issues.push(...zodIssues(`${path}.perceptual`, parsed.error, PERCEPTUAL_PARAMS));
    else out.perceptual = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
    const extra = Object.keys(raw).filter((k) => k !== 'perceptual' && !COMMON_KEYS.includes(k));
    if (extra.length) issues.push({ path, message: `unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (valid: perceptual, ${COMMON_KEYS.join(', ')})` });
  } else if (kind === 'vlm') {
    const parsed = vlmSchema.safeParse(raw.vlm);
    if (!parsed.success) issues.push(...zodIssues(`${path}.vlm`, parsed.error, VLM_PARAMS));
    else out.vlm = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
    const extra = Object.keys(raw).filter((k) => k !== 'vlm' && !COMMON_KEYS.includes(k));
    if (extra.length) issues.push({ path, message: `unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (valid: vlm, ${COMMON_KEYS.join(', ')})` });
  } else {
    const ref = raw.ref;
    if (typeof ref !== 'string' || !componentNames.includes(ref)) issues.push({ path: `${path}.ref`, message: `unknown component ${JSON.stringify(ref)}; valid components: ${componentNames.join(', ')}`, validNames: componentNames });
    else out.ref = ref;
    const extra = Object.keys(raw).filter((k) => k !== 'ref' && !COMMON_KEYS.includes(k));
    if (extra.length) issues.push({ path, message: `unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (valid: ref, ${COMMON_KEYS.join(', ')})` });
  }
  return issues.length === before ? (out as unknown as RewardNodeSpec) : null;
}

/** Calls `visit` on every node of a tree (gate nodes included) with its JSON path. */
export function walkNodes(node: RewardNodeSpec, path: string, visit: (node: RewardNodeSpec, path: string) => void): void {
  visit(node, path);
  if (isKrcNode(node)) node.krc.forEach((c, i) => walkNodes(c, `${path}.krc[${i}]`, visit));
  if (isSumNode(node)) node.sum.forEach((c, i) => walkNodes(c, `${path}.sum[${i}]`, visit));
  if (node.gate) walkNodes(node.gate.on, `${path}.gate.on`, visit);
}

/** Components in an order where every `ref` comes after what it names; throws on a cycle. */
export function componentOrder(components: Record<string, RewardNodeSpec>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[], refPath: string | null): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...chain.slice(chain.indexOf(name)), name];
      throw new RewardSpecError([{ path: refPath ?? `$.components.${name}`, message: `cycle of refs: ${cycle.join(' → ')} (a component cannot depend on itself)` }]);
    }
    state.set(name, 'visiting');
    walkNodes(components[name]!, pathOf('$.components', [name]), (node, path) => {
      if (isRefNode(node)) visit(node.ref, [...chain, name], `${path}.ref`);
    });
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(components)) visit(name, [], null);
  return order;
}

/** True when a node is a function of one state (so it can be a potential Φ). */
export function isStateFunction(node: RewardNodeSpec, components: Record<string, RewardNodeSpec>): boolean {
  if (node.potential || node.gate) return false;
  if (isTermNode(node)) return TERMS[node.term]!.kind === 'state';
  if (isKrcNode(node)) return node.krc.every((c) => isStateFunction(c, components));
  if (isSumNode(node)) return node.sum.every((c) => isStateFunction(c, components));
  if (isVlmNode(node) || isPerceptualNode(node)) return true;
  return isStateFunction(components[(node as RefNodeSpec).ref]!, components);
}

/** The presets parseRewardSpec accepts by name. */
export const PRESET_NAMES = ['starter', 'lucy', 'sum', 'sparse', 'native'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * Lucy-SKG's final reward (Moschopoulos et al. 2023; REFERENCES.md §1): five potentials paid as
 * γ·Φ(s′) − Φ(s) with γ = 1, eight event components, team spirit 0.3.
 */
function lucyComponents(asPlainSum: boolean): Record<string, RewardNodeSpec> {
  // The `sum` preset keeps every component and weight but drops KRC (an arithmetic mean of the same
  // aspects instead of their sign-preserving geometric mean) and pays the potentials' values directly.
  const krc = (children: RewardNodeSpec[]): RewardNodeSpec => (asPlainSum ? { sum: children.map((c) => ({ ...c, weight: 1 / children.length })) } : { krc: children });
  const potential = (node: RewardNodeSpec, weight: number): RewardNodeSpec => ({ ...node, weight, ...(asPlainSum ? {} : { potential: true }) });
  return {
    ballGoalDistanceDifference: potential({ term: 'ballGoalDistanceDifference', offensiveDispersion: 0.6, defensiveDispersion: 0.4 }, 2),
    velocityBallToGoal: potential({ term: 'velocityBallToGoal' }, 0.8),
    saveBoost: potential({ term: 'saveBoost' }, 0.5),
    distanceWeightedAlign: potential(krc([{ term: 'alignBallGoal' }, { term: 'liuDistancePlayerToBall', dispersion: 1.1 }]), 0.6),
    offensivePotential: potential(krc([{ term: 'alignBallGoal', defense: 0.5, offense: 0.5 }, { term: 'velocityPlayerToBall' }, { term: 'liuDistancePlayerToBall', density: 1.1 }]), 1),
    goal: { term: 'event', teamGoal: 1, weight: 10 },
    concede: { term: 'event', concede: 1, weight: -3 },
    shot: { term: 'event', shot: 1, weight: 1.5 },
    save: { term: 'event', save: 1, weight: 3 },
    touchBallToGoalAcceleration: { term: 'touchBallToGoalAcceleration', weight: 0.25 },
    touch: { term: 'event', touch: 1, weight: 0.05 },
    demo: { term: 'event', demo: 1, weight: 2 },
    demoed: { term: 'event', demoed: 1, weight: -2 },
  };
}

/**
 * The first reward to train a carball bot with, in the style of RLGym's tutorial rewards: per step, the
 * car's speed toward the ball and the ball's velocity toward the opponent goal; per touch and per goal,
 * a bonus. Every term pays for something a spectator can see (reaching the ball, hitting it, sending it
 * goalward, scoring), so the return rises with the task metrics. No team spirit, no potentials.
 */
const STARTER_COMPONENTS: Record<string, RewardNodeSpec> = {
  speedTowardBall: { term: 'speedTowardBall', weight: 0.05 },
  touch: { term: 'event', touch: 1, weight: 1 },
  velocityBallToGoal: { term: 'velocityBallToGoal', weight: 0.5 },
  goal: { term: 'event', teamGoal: 1, weight: 10 },
  concede: { term: 'event', concede: 1, weight: -10 },
};

export function presetSpec(name: PresetName): unknown {
  switch (name) {
    case 'starter':
      return { description: "RLGym-tutorial style: speed toward the ball, touches, ball velocity toward the opponent goal, goals", components: STARTER_COMPONENTS };
    case 'lucy':
      return { description: "Lucy-SKG's reward: KRC potentials and events, team spirit 0.3", gamma: 1, teamSpirit: 0.3, components: lucyComponents(false) };
    case 'sum':
      return { description: "Lucy-SKG's components as a plain weighted sum (no KRC, no potentials)", gamma: 1, teamSpirit: 0.3, components: lucyComponents(true) };
    case 'sparse':
      return { description: 'goals only: +1 for a team goal, −1 for a goal conceded', components: { goal: { term: 'event', teamGoal: 1 }, concede: { term: 'event', concede: 1, weight: -1 } } };
    case 'native':
      return { description: "the env's own reward", components: { native: { term: 'native' } } };
  }
}

function loadSpecSource(source: string): unknown {
  if ((PRESET_NAMES as readonly string[]).includes(source)) return presetSpec(source as PresetName);
  const text = source.trimStart().startsWith('{') ? source : readSpecFile(source);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RewardSpecError([{ path: '$', message: `${text === source ? 'the spec' : `reward spec file ${source}`} is not valid JSON: ${(err as Error).message}` }]);
  }
}

function readSpecFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new RewardSpecError([{ path: '$', message: `${JSON.stringify(path)} is neither a preset (${PRESET_NAMES.join(', ')}) nor a readable spec file (${why})` }]);
  }
}

/**
 * A validated reward spec from a preset name (`lucy`, `sum`, `sparse`, `native`), a path to a JSON file,
 * a JSON string, or an object. Throws a RewardSpecError naming the JSON path of every problem: unknown
 * terms and components (with the valid names), wrong parameter types, cycles of refs, potentials over
 * terms that are not functions of one state.
 */
export function parseRewardSpec(specOrPathOrPreset: unknown): RewardSpec {
  const raw = typeof specOrPathOrPreset === 'string' ? loadSpecSource(specOrPathOrPreset) : specOrPathOrPreset;
  const top = topSchema.safeParse(raw);
  if (!top.success) throw new RewardSpecError(zodIssues('$', top.error, Object.keys(topSchema.shape)));
  const names = Object.keys(top.data.components);
  if (names.length === 0) throw new RewardSpecError([{ path: '$.components', message: `a spec needs at least one component (or a preset: ${PRESET_NAMES.join(', ')})` }]);
  const issues: RewardSpecIssue[] = [];
  const components: Record<string, RewardNodeSpec> = {};
  for (const name of names) {
    const node = parseNode(top.data.components[name], pathOf('$.components', [name]), names, issues);
    if (node) components[name] = node;
  }
  if (issues.length) throw new RewardSpecError(issues);
  componentOrder(components);
  for (const name of names) {
    walkNodes(components[name]!, pathOf('$.components', [name]), (node, path) => {
      if (node.potential && !isStateFunction({ ...node, potential: false, gate: undefined } as RewardNodeSpec, components)) {
        issues.push({ path: `${path}.potential`, message: 'a potential must be a function of one state; this node depends on the transition (events, the native reward, a gate or another potential)' });
      }
    });
  }
  if (issues.length) throw new RewardSpecError(issues);
  const spec: RewardSpec = { gamma: top.data.gamma, components, transforms: top.data.transforms as ReturnTransformSpec[] };
  if (top.data.teamSpirit !== undefined) spec.teamSpirit = top.data.teamSpirit;
  if (top.data.description !== undefined) spec.description = top.data.description;
  return spec;
}

export interface ComponentRow {
  name: string;
  /** 'potential': paid as γ·Φ(s′) − Φ(s); 'event': depends on the step's events; 'state': a function of s′. */
  kind: 'potential' | 'event' | 'state';
  weight: number;
  /** The node's structure in one line, e.g. `krc(alignBallGoal, velocityPlayerToBall, liuDistancePlayerToBall)`. */
  formula: string;
}

export function describeNode(node: RewardNodeSpec): string {
  const params = (n: TermNodeSpec): string => {
    const def = TERMS[n.term]!;
    const shape = (def.params as unknown as z.ZodObject).shape ?? {};
    const defaults = (def.params as z.ZodType).parse({}) as Record<string, unknown> | undefined;
    const set = Object.keys(shape).filter((k) => n[k] !== undefined && n[k] !== defaults?.[k]);
    return set.length ? `(${set.map((k) => `${k}=${JSON.stringify(n[k])}`).join(', ')})` : '';
  };
  let s: string;
  if (isTermNode(node)) s = `${node.term}${params(node)}`;
  else if (isKrcNode(node)) s = `krc(${node.krc.map(describeNode).join(', ')})`;
  else if (isSumNode(node)) s = `sum(${node.sum.map((c) => (c.weight !== undefined && c.weight !== 1 ? `${+c.weight.toFixed(6)}·${describeNode({ ...c, weight: 1 })}` : describeNode(c))).join(', ')})`;
  else if (isVlmNode(node)) {
    const v = node.vlm;
    s = `vlm(${JSON.stringify(v.goal.join(' | '))}${v.baseline ? ` vs ${JSON.stringify(v.baseline.join(' | '))}` : ''}, alpha=${v.alpha})`;
  } else if (isPerceptualNode(node)) s = `perceptual(${JSON.stringify(node.perceptual.model)})`;
  else s = `ref(${(node as RefNodeSpec).ref})`;
  if (node.potential) s = `shaped ${s}`;
  if (node.gate) s = `${s} if ${describeNode(node.gate.on)} ≥ ${node.gate.threshold}`;
  return s;
}

/** The spec's component table: one row per named component (what Lucy-SKG's table lists). */
export function componentTable(spec: RewardSpec): ComponentRow[] {
  return Object.entries(spec.components).map(([name, node]) => ({
    name,
    kind: node.potential ? 'potential' : isStateFunction(node, spec.components) ? 'state' : 'event',
    weight: node.weight ?? 1,
    formula: describeNode(node),
  }));
}
