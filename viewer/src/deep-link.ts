/**
 * Deep links in the URL fragment: `#run=ID&episode=N&t=SECONDS` opens a run's recorded episode at a
 * time; `replay=ID` names a replay directly, `src=URL` loads a replay file from a URL, `live=1`
 * follows the run's latest episode, `cam` and `agent` pick the camera and the plotted agent.
 */
export interface DeepLink {
  run?: string;
  episode?: number;
  replay?: string;
  src?: string;
  /** Seconds of env time. */
  t?: number;
  live?: boolean;
  cam?: string;
  agent?: number;
}

function num(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function parseDeepLink(hash: string): DeepLink {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const link: DeepLink = {};
  const run = params.get('run');
  if (run) link.run = run;
  const episode = num(params.get('episode'));
  if (episode !== undefined && Number.isInteger(episode) && episode >= 0) link.episode = episode;
  const replay = params.get('replay');
  if (replay) link.replay = replay;
  const src = params.get('src');
  if (src) link.src = src;
  const t = num(params.get('t'));
  if (t !== undefined && t >= 0) link.t = t;
  if (params.get('live') === '1') link.live = true;
  const cam = params.get('cam');
  if (cam) link.cam = cam;
  const agent = num(params.get('agent'));
  if (agent !== undefined && Number.isInteger(agent) && agent >= 0) link.agent = agent;
  return link;
}

/** The fragment for a link, keys in a fixed order; time rounded to milliseconds. */
export function formatDeepLink(link: DeepLink): string {
  const params = new URLSearchParams();
  if (link.run) params.set('run', link.run);
  if (link.episode !== undefined) params.set('episode', String(link.episode));
  if (link.replay) params.set('replay', link.replay);
  if (link.src) params.set('src', link.src);
  if (link.t !== undefined) params.set('t', String(Math.round(link.t * 1000) / 1000));
  if (link.live) params.set('live', '1');
  if (link.cam) params.set('cam', link.cam);
  if (link.agent !== undefined) params.set('agent', String(link.agent));
  const s = params.toString();
  return s ? `#${s}` : '';
}
