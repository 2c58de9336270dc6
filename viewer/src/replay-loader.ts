/**
 * Turns bytes into a replay the viewer can show, or a message saying why it cannot: the format's own
 * decoder (magic, version, inflate, column sizes) plus the checks that decoding alone cannot make —
 * that the frames fit the scene (known shapes, finite transforms, agents and events in range).
 * Also derives what the overlays need from the replay once: the score after every frame, the timeline's
 * event markers, and each agent's cumulative reward per component.
 */
import { decodeReplay, ReplayFormatError, TRANSFORM_SIZE, type Replay, type ReplayEvent, type ReplayShape } from '@rewardlab/replay';

export type { Replay, ReplayEvent, ReplayScene, ReplayShape } from '@rewardlab/replay';
export { TRANSFORM_SIZE } from '@rewardlab/replay';

/** A replay the viewer cannot show; `message` is written for the page. */
export class ReplayLoadError extends Error {
  override name = 'ReplayLoadError';
}

const SHAPE_KINDS = new Set(['box', 'sphere', 'capsule', 'cylinder', 'ring']);

function shapeProblem(shape: ReplayShape | undefined): string | null {
  if (!shape || !SHAPE_KINDS.has(shape.kind)) return `unknown shape ${JSON.stringify((shape as { kind?: unknown } | undefined)?.kind)}`;
  const dims = shape.kind === 'box' ? shape.halfExtents : shape.kind === 'sphere' ? [shape.radius] : shape.kind === 'ring' ? [shape.innerRadius, shape.outerRadius] : [shape.radius, shape.halfLength];
  if (!Array.isArray(dims) || dims.some((d) => typeof d !== 'number' || !Number.isFinite(d) || d < 0)) return `${shape.kind} with invalid dimensions`;
  return null;
}

/** Throws a ReplayLoadError naming the first way the replay's frames do not fit its scene. */
export function validateReplay(replay: Replay): void {
  const { scene, frameCount } = replay;
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new ReplayLoadError(`the replay has ${frameCount} frames; it needs at least one`);
  if (!(typeof replay.meta?.hz === 'number' && replay.meta.hz > 0 && Number.isFinite(replay.meta.hz))) throw new ReplayLoadError(`the replay's frame rate (meta.hz = ${String(replay.meta?.hz)}) is not a positive number`);
  if (scene.dynamicBodies.length === 0) throw new ReplayLoadError('the replay’s scene has no moving bodies to show');
  const signals = new Set(scene.signals ?? []);
  const pieces: { name: string; shape: ReplayShape; toggle?: { signal: string } }[] = [...(scene.staticBodies ?? []), ...scene.dynamicBodies, ...scene.dynamicBodies.flatMap((b) => (Array.isArray(b.parts) ? b.parts.map((p) => ({ ...p, name: `${b.name}/${p.name}` })) : []))];
  for (const body of pieces) {
    const problem = shapeProblem(body.shape);
    if (problem) throw new ReplayLoadError(`frames do not match the scene: body "${body.name}" has ${problem}`);
    if (body.toggle && !signals.has(body.toggle.signal)) throw new ReplayLoadError(`frames do not match the scene: body "${body.name}" is switched by signal "${body.toggle.signal}", which the scene does not name`);
  }
  for (const body of scene.dynamicBodies) {
    if (body.agent !== undefined && !(Number.isInteger(body.agent) && body.agent >= 0 && body.agent < scene.agents.length)) {
      throw new ReplayLoadError(`frames do not match the scene: body "${body.name}" belongs to agent ${body.agent}, but the scene has ${scene.agents.length} agents`);
    }
  }
  const t = replay.transforms;
  const bodies = scene.dynamicBodies.length;
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i]!)) {
      const frame = Math.floor(i / (bodies * TRANSFORM_SIZE));
      const body = scene.dynamicBodies[Math.floor(i / TRANSFORM_SIZE) % bodies]!;
      throw new ReplayLoadError(`frames do not match the scene: frame ${frame} has a non-finite transform for "${body.name}"`);
    }
  }
  for (const e of replay.events) {
    if (!Number.isInteger(e.frame) || e.frame < 0 || e.frame >= frameCount) throw new ReplayLoadError(`an event "${e.type}" is at frame ${e.frame}, outside the replay’s ${frameCount} frames`);
    if (e.agent !== -1 && !(e.agent >= 0 && e.agent < scene.agents.length)) throw new ReplayLoadError(`an event "${e.type}" names agent ${e.agent}, but the scene has ${scene.agents.length} agents`);
  }
}

/** Decodes and validates; every failure is a ReplayLoadError with a message for the page. */
export function loadReplay(bytes: Uint8Array): Replay {
  let replay: Replay;
  try {
    replay = decodeReplay(bytes);
  } catch (err) {
    if (err instanceof ReplayFormatError) throw new ReplayLoadError(err.message);
    throw new ReplayLoadError(`the replay could not be read: ${(err as Error).message}`);
  }
  validateReplay(replay);
  return replay;
}

/** 0 (blue) or 1 (orange) from carball's agent names (`blue-0`, `orange-2`), else null. */
export function agentTeam(name: string): 0 | 1 | null {
  if (/^blue\b/i.test(name)) return 0;
  if (/^orange\b/i.test(name)) return 1;
  return null;
}

/** Per-frame goals of both teams: [blue, orange] after frame f at index 2f, 2f+1; null when the scene has no teams. */
export function scoreTimeline(replay: Replay): Int32Array | null {
  const teams = replay.scene.agents.map(agentTeam);
  if (!teams.some((t) => t !== null)) return null;
  // Every agent of the scoring team reports `teamGoal`, so one goal is the largest count among a team's
  // agents at that frame; replays without `teamGoal` fall back to the scorer's `goal` event.
  const hasTeamGoal = replay.events.some((e) => e.type === 'teamGoal');
  const type = hasTeamGoal ? 'teamGoal' : 'goal';
  const perFrame = new Int32Array(replay.frameCount * 2);
  for (const e of replay.events) {
    const team = e.agent >= 0 ? teams[e.agent] : null;
    if (e.type !== type || team === null || team === undefined) continue;
    const i = e.frame * 2 + team;
    perFrame[i] = Math.max(perFrame[i]!, e.value ?? 1);
  }
  for (let f = 1; f < replay.frameCount; f++) {
    perFrame[f * 2] = perFrame[f * 2]! + perFrame[(f - 1) * 2]!;
    perFrame[f * 2 + 1] = perFrame[f * 2 + 1]! + perFrame[(f - 1) * 2 + 1]!;
  }
  return perFrame;
}

export interface TimelineMarker {
  frame: number;
  type: 'goal' | 'touch' | 'demo' | 'other';
  agent: number;
  label: string;
}

const MARKED: Record<string, TimelineMarker['type']> = { teamGoal: 'goal', goal: 'goal', touch: 'touch', demo: 'demo' };

/** The events worth a mark on the timeline: goals (once per goal, not once per teammate), touches, demos. */
export function timelineMarkers(replay: Replay): TimelineMarker[] {
  const hasTeamGoal = replay.events.some((e) => e.type === 'teamGoal');
  const names = replay.scene.agents;
  const markers: TimelineMarker[] = [];
  const goalFrames = new Set<string>();
  for (const e of replay.events) {
    const type = MARKED[e.type];
    if (!type) continue;
    if (type === 'goal') {
      if (hasTeamGoal && e.type !== 'teamGoal') continue;
      const team = e.agent >= 0 ? agentTeam(names[e.agent] ?? '') : null;
      const key = `${e.frame}:${team ?? e.agent}`;
      if (goalFrames.has(key)) continue;
      goalFrames.add(key);
      markers.push({ frame: e.frame, type, agent: e.agent, label: `goal ${team === null ? (names[e.agent] ?? '') : team === 0 ? 'blue' : 'orange'}` });
      continue;
    }
    markers.push({ frame: e.frame, type, agent: e.agent, label: `${type} ${names[e.agent] ?? ''}`.trim() });
  }
  return markers.sort((a, b) => a.frame - b.frame);
}

/** One agent's rewards: per component, the per-step values and their running sum, as plot columns. */
export function agentRewardSeries(replay: Replay, agent: number): { perStep: Float64Array[]; cumulative: Float64Array[] } {
  const agents = replay.scene.agents.length;
  const n = replay.componentNames.length;
  const perStep: Float64Array[] = [];
  const cumulative: Float64Array[] = [];
  for (let c = 0; c < n; c++) {
    const values = new Float64Array(replay.frameCount);
    const sums = new Float64Array(replay.frameCount);
    let sum = 0;
    for (let f = 0; f < replay.frameCount; f++) {
      const v = replay.rewards[(f * agents + agent) * n + c]!;
      values[f] = v;
      sum += v;
      sums[f] = sum;
    }
    perStep.push(values);
    cumulative.push(sums);
  }
  return { perStep, cumulative };
}
