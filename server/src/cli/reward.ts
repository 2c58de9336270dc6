/**
 * `rewardlab reward eval` and `rewardlab reward compare`: inspect a reward spec on recorded transitions,
 * and measure how far apart two specs are (EPIC and STARC over transitions sampled from the env).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { flatDim, isMultiAgent, numAgentsOf, type AnyEnv } from '@rewardlab/sim';
import {
  carballEventsSchema,
  carballStateSchema,
  defaultFrameScorers,
  parseRewardSpec,
  PRESET_NAMES,
  rewardDistances,
  RewardFunction,
  rewardDomainOf,
  sampleTransitions,
  type RewardDomain,
  type RewardSpec,
  type Transition,
  type VlmTermParams,
} from '@rewardlab/rewards';
import { framesOfStates } from '@rewardlab/render';
import { openEnv } from './envs';
import { CliError, emitResult } from './output';
import { nonNegativeInt, positiveInt } from './parse';

function probability(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a number in [0, 1], got "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A spec from a preset name, a file or inline JSON; spec errors keep their JSON paths. */
function loadSpec(source: string): RewardSpec {
  return parseRewardSpec(source);
}

interface LineAgent {
  total: number;
  components: Record<string, number>;
}

/** What one JSONL line must look like for this env (DESIGN.md: `{ prev, next, actions? }`, plus optional events and nativeReward). */
function parseTransitionLine(raw: unknown, domain: RewardDomain, env: AnyEnv): Transition {
  const numSlots = numAgentsOf(env);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('expected an object { "prev": state, "next": state, "actions"?: [...], "events"?: [...] }');
  const line = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(line).filter((k) => !['prev', 'next', 'actions', 'events', 'nativeReward', 'terminated'].includes(k));
  if (unknownKeys.length) throw new Error(`unknown key ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')} (valid: prev, next, actions, events, nativeReward, terminated)`);
  const state = (key: 'prev' | 'next'): unknown => {
    const value = line[key];
    if (value === undefined) throw new Error(`"${key}" is missing`);
    if (domain === 'carball') {
      const parsed = carballStateSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`${key}${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message} (not a valid carball state)`);
      }
      if (parsed.data.cars.length !== numSlots) throw new Error(`${key}.cars has ${parsed.data.cars.length} cars; ${env.id} has ${numSlots} agent slots`);
      return parsed.data;
    }
    const size = flatDim(env.observationSpace);
    const vector = (v: unknown, where: string): Float32Array => {
      if (!Array.isArray(v) || v.length !== size || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`${where} must be an observation: an array of ${size} finite numbers`);
      return Float32Array.from(v as number[]);
    };
    if (!isMultiAgent(env)) return vector(value, key);
    if (!Array.isArray(value) || value.length !== numSlots) throw new Error(`${key} must hold one observation per agent slot (${numSlots})`);
    return value.map((v, i) => vector(v, `${key}[${i}]`));
  };
  const prev = state('prev');
  const next = state('next');
  const actions = line.actions === undefined ? new Array<unknown>(numSlots).fill(null) : line.actions;
  if (!Array.isArray(actions) || actions.length !== numSlots) throw new Error(`"actions" must be an array with one action per agent slot (${numSlots})`);
  let events: (Record<string, number> | undefined)[] = new Array(numSlots).fill(undefined);
  if (line.events !== undefined) {
    if (!Array.isArray(line.events) || line.events.length !== numSlots) throw new Error(`"events" must be an array with one event object per agent slot (${numSlots})`);
    events = line.events.map((e, i) => {
      const parsed = carballEventsSchema.safeParse(e);
      if (!parsed.success) throw new Error(`events[${i}]: ${parsed.error.issues.map((x) => `${x.path.join('.') || ''} ${x.message}`.trim()).join('; ')}`);
      return parsed.data as Record<string, number>;
    });
  }
  let nativeReward: number[] | null = null;
  if (line.nativeReward !== undefined) {
    const r = typeof line.nativeReward === 'number' ? [line.nativeReward] : line.nativeReward;
    if (!Array.isArray(r) || r.length !== numSlots || !r.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`"nativeReward" must be a number per agent slot (${numSlots})`);
    nativeReward = r as number[];
  }
  if (line.terminated !== undefined && typeof line.terminated !== 'boolean') throw new Error('"terminated" must be a boolean');
  return { prev, next, actions, events, nativeReward, terminated: line.terminated === true };
}

/**
 * Scores the prev and next states of `transitions` for the reward function's vlm terms: the states are
 * drawn as the env's frames (carball states, CartPole's and Pendulum's state arrays) and embedded.
 */
async function scoreTransitionStates(fn: RewardFunction, envId: string, transitions: Transition[]): Promise<void> {
  const states = [...new Set(transitions.flatMap((t) => [t.prev, t.next]).filter((s): s is object => s !== null && typeof s === 'object'))];
  let scene;
  let frames;
  try {
    ({ scene, frames } = framesOfStates(envId, states.map((s) => (s instanceof Float32Array ? Array.from(s) : s))));
  } catch (err) {
    throw new CliError(`the spec's vlm terms need the transitions' states drawn: ${(err as Error).message}`);
  }
  const values = states.map(() => new Float64Array(fn.frameTerms.length));
  for (const term of fn.frameTerms) {
    const params = term.params as VlmTermParams;
    const scorer = await defaultFrameScorers.acquire('vlm', params);
    try {
      const scores = await scorer.scoreAll(scene, frames, envId);
      scores.forEach((v, k) => (values[k]![term.index] = v));
    } finally {
      await defaultFrameScorers.release('vlm', params);
    }
  }
  states.forEach((s, k) => fn.setFrameScores(s, values[k]!));
}

export function registerRewardCommands(program: Command): void {
  const reward = program.command('reward').description('inspect and compare reward specs');

  reward
    .command('eval')
    .description('evaluate a reward spec on transitions (JSONL: one { "prev", "next", "actions"?, "events"? } per line): per line and agent, the total and every component')
    .option('--env <id>', 'registered env id (carball envs take carball states, others observations)')
    .option('--env-module <file>', 'module whose default export builds the env')
    .requiredOption('--spec <spec>', `reward spec: a preset (${PRESET_NAMES.join(', ')}), a JSON file or inline JSON`)
    .requiredOption('--transitions <file>', 'JSONL file of transitions')
    .option('--gamma <g>', "shaping γ (default: the spec's)", probability)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env?: string; envModule?: string; spec: string; transitions: string; gamma?: number; json?: boolean }) => {
      const spec = loadSpec(opts.spec);
      const env = await openEnv(opts);
      try {
        const domain = rewardDomainOf(env);
        const numSlots = numAgentsOf(env);
        const fn = new RewardFunction(spec, { numSlots, domain, envId: env.id, ...(opts.gamma !== undefined ? { gamma: opts.gamma } : {}) });
        let text: string;
        try {
          text = readFileSync(opts.transitions, 'utf8');
        } catch (err) {
          throw new CliError(`cannot read transitions file ${opts.transitions}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
        }
        const parsed: { line: number; t: Transition }[] = [];
        text.split('\n').forEach((source, index) => {
          const lineNo = index + 1;
          if (source.trim() === '') return;
          try {
            let raw: unknown;
            try {
              raw = JSON.parse(source);
            } catch (err) {
              throw new Error(`not valid JSON (${(err as Error).message})`);
            }
            parsed.push({ line: lineNo, t: parseTransitionLine(raw, domain, env) });
          } catch (err) {
            throw new CliError(`${opts.transitions} line ${lineNo}: ${(err as Error).message}`);
          }
        });
        // vlm terms: every state of the file is drawn and embedded (in one batch per term) before any is evaluated.
        if (fn.frameTerms.length && parsed.length) await scoreTransitionStates(fn, env.id, parsed.map((p) => p.t));
        const lines: { line: number; agents: LineAgent[] }[] = [];
        for (const { line: lineNo, t } of parsed) {
          let evaluation;
          try {
            evaluation = fn.evaluate(t);
          } catch (err) {
            throw new CliError(`${opts.transitions} line ${lineNo}: ${(err as Error).message}`);
          }
          const agents = Array.from({ length: numSlots }, (_, slot) => ({
            total: evaluation.total[slot]!,
            components: Object.fromEntries(fn.componentNames.map((name) => [name, evaluation.components[name]![slot]!])),
          }));
          lines.push({ line: lineNo, agents });
        }
        if (lines.length === 0) throw new CliError(`${opts.transitions} holds no transitions`);
        const agentNames = isMultiAgent(env) ? [...env.agents] : ['agent'];
        const result = { env: env.id, components: fn.componentNames, agents: agentNames, lines };
        emitResult(result, opts, (r: typeof result) =>
          r.lines
            .map((l) =>
              [`line ${l.line}`, ...l.agents.map((a, i) => `  ${r.agents[i]}: total ${a.total.toFixed(6)}  ${Object.entries(a.components).map(([k, v]) => `${k} ${v.toFixed(6)}`).join('  ')}`)].join('\n'),
            )
            .join('\n'),
        );
      } finally {
        await env.close();
      }
    });

  reward
    .command('compare')
    .description('distances between two reward specs (EPIC and STARC) over transitions sampled from the env under random actions')
    .option('--env <id>', 'registered env id')
    .option('--env-module <file>', 'module whose default export builds the env')
    .option('--spec <spec>', 'a reward spec (give exactly two): preset, JSON file or inline JSON', collect, [])
    .option('--samples <n>', 'transitions to sample', positiveInt, 256)
    .option('--canonical-samples <n>', 'draws for the canonicalisation expectations', positiveInt, 128)
    .option('--seed <n>', 'seed for sampling', nonNegativeInt, 0)
    .option('--gamma <g>', "γ of the canonicalisation (default: the first spec's shaping γ)", probability)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env?: string; envModule?: string; spec: string[]; samples: number; canonicalSamples: number; seed: number; gamma?: number; json?: boolean }) => {
      if (opts.spec.length !== 2) throw new CliError(`reward compare needs exactly two --spec options, got ${opts.spec.length}`);
      const [a, b] = opts.spec.map(loadSpec) as [RewardSpec, RewardSpec];
      const env = await openEnv(opts);
      try {
        const domain = rewardDomainOf(env);
        // Fail on a spec that cannot apply to this env before sampling.
        for (const spec of [a, b]) new RewardFunction(spec, { numSlots: numAgentsOf(env), domain, envId: env.id });
        process.stderr.write(`sampling ${opts.samples} transitions from ${env.id}…\n`);
        const transitions = await sampleTransitions(env, { samples: opts.samples, seed: opts.seed });
        const gamma = opts.gamma ?? a.gamma;
        const d = rewardDistances(a, b, transitions, { gamma, canonicalSamples: opts.canonicalSamples, seed: opts.seed });
        const result = { epic: d.epic, starc: d.starc, env: env.id, samples: transitions.length, gamma, constant: d.constant };
        const note = (r: typeof result): string => (r.constant.some(Boolean) ? `\nnote: ${r.constant.map((c, i) => (c ? `spec ${i + 1}` : '')).filter(Boolean).join(' and ')} canonicalise to 0 on these transitions (potential shaping only, or events that never happened under random actions): the distance says only that` : '');
        emitResult(result, opts, (r: typeof result) => `EPIC ${r.epic.toFixed(6)}  STARC ${r.starc.toFixed(6)}  (${r.samples} transitions of ${r.env}, γ = ${r.gamma})${note(r)}`);
      } finally {
        await env.close();
      }
    });
}
