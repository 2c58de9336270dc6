/**
 * The server's HTTP and WebSocket API as the viewer uses it (server/src: runs, metrics, replays
 * controllers and the `/api/ws` stream). Same origin as the page; every failure is an Error whose
 * message can go on the page.
 */
export interface RunSummary {
  id: string;
  env: string;
  algo: string;
  status: string;
  step: number;
  steps: number;
  meanReturn: number | null;
  createdAt?: string;
  experimentId?: string | null;
  [key: string]: unknown;
}

export interface MetricBatch {
  step: number;
  meanReturn: number | null;
  meanLength?: number | null;
  episodes?: number;
  rewardComponents?: Record<string, number>;
  [key: string]: unknown;
}

export interface ReplaySummary {
  id: string;
  runId: string;
  kind: string;
  episode: number;
  step: number;
  frames: number;
  episodeReturn: number | null;
  bytes: number;
  createdAt: string;
}

/** One message of the `/api/ws` stream (server/src/stream/run-events.ts). */
export type StreamEvent =
  | { type: 'hello'; runId: string | null }
  | { type: 'status'; runId: string; status: string; error?: string | null }
  | { type: 'metrics'; runId: string; batch: MetricBatch }
  | { type: 'episode'; runId: string; episode: number; step: number; return: number; length: number }
  | { type: 'checkpoint'; runId: string; checkpoint: Record<string, unknown> }
  | { type: 'replay'; runId: string; replay: ReplaySummary };

export class ApiClient {
  constructor(private readonly base = '') {}

  private async json<T>(path: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { headers: { accept: 'application/json' } });
    } catch (err) {
      throw new Error(`no API server answered ${path} (${(err as Error).message})`);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !type.includes('json')) {
      let detail = `HTTP ${res.status}`;
      if (type.includes('json')) detail = ((await res.json().catch(() => ({}))) as { message?: string }).message ?? detail;
      throw new Error(`${path}: ${detail}`);
    }
    return (await res.json()) as T;
  }

  async runs(limit = 50): Promise<RunSummary[]> {
    return (await this.json<{ runs: RunSummary[] }>(`/api/runs?limit=${limit}`)).runs;
  }

  async run(id: string): Promise<RunSummary> {
    return this.json<RunSummary>(`/api/runs/${encodeURIComponent(id)}`);
  }

  /** All metric batches after `after` (paged by the server's limit). */
  async metrics(runId: string, after = -1): Promise<MetricBatch[]> {
    const out: MetricBatch[] = [];
    for (;;) {
      const page = (await this.json<{ metrics: MetricBatch[] }>(`/api/runs/${encodeURIComponent(runId)}/metrics?after=${after}&limit=1000`)).metrics;
      out.push(...page);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.step;
    }
  }

  async replays(runId: string): Promise<ReplaySummary[]> {
    return (await this.json<{ replays: ReplaySummary[] }>(`/api/runs/${encodeURIComponent(runId)}/replays`)).replays;
  }

  replayUrl(replayId: string): string {
    return `${this.base}/api/replays/${encodeURIComponent(replayId)}/download`;
  }

  /** Opens the live stream (all runs, or one); the caller closes it. */
  stream(runId: string | undefined, onEvent: (event: StreamEvent) => void, onClose: () => void): WebSocket {
    const url = new URL(`${this.base}/api/ws`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (runId) url.searchParams.set('runId', runId);
    const ws = new WebSocket(url);
    ws.addEventListener('message', (m) => {
      try {
        onEvent(JSON.parse(String(m.data)) as StreamEvent);
      } catch {
        // A malformed message is skipped; the stream goes on.
      }
    });
    ws.addEventListener('close', onClose);
    return ws;
  }
}

/** Fetches a replay file's bytes; a failed request is an Error with a message for the page. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch ${url} (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
