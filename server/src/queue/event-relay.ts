/**
 * Run events across processes in queue mode: a trainer agent publishes what its runs report (status,
 * metrics, episodes, checkpoints, replays: the in-process `RunEvents` bus, after each is committed) on
 * the queue's Redis channel, and the API re-publishes them on its own bus, so its WebSocket stream (and
 * the viewer's live curves) shows the agents' runs as it shows its own. Best effort: an event lost while
 * Redis is away is still in the database, which the viewer reads when it opens a run.
 */
import { Redis } from 'ioredis';
import type { RunEvent, RunEvents } from '../stream/run-events';
import { QUEUE_PREFIX } from './run-queue';

export function eventsChannel(queueName: string): string {
  return `${QUEUE_PREFIX}:${queueName}:events`;
}

const TYPES = new Set(['status', 'metrics', 'episode', 'checkpoint', 'replay']);

function isRunEvent(value: unknown): value is RunEvent {
  const e = value as { type?: unknown; runId?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.type === 'string' && TYPES.has(e.type) && typeof e.runId === 'string';
}

/** The agent's side: every event of `events` goes to the channel. Resolves to a function that stops it. */
export function publishRunEvents(events: RunEvents, url: string, queueName: string): () => void {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => undefined); // the agent's own Redis line says when the queue is unreachable
  const channel = eventsChannel(queueName);
  const off = events.subscribe((event) => void client.publish(channel, JSON.stringify(event)).catch(() => undefined));
  return () => {
    off();
    client.disconnect();
  };
}

/** The API's side: the agents' events, re-published on `events`. Returns a function that stops it. */
export function relayRunEvents(events: RunEvents, url: string, queueName: string, log: (line: string) => void = () => undefined): () => void {
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  const channel = eventsChannel(queueName);
  // ioredis subscribes again by itself after a reconnect.
  subscriber.subscribe(channel).catch((err: Error) => log(`run events from the trainer agents are not relayed: ${err.message}`));
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch {
      return; // not ours: a channel is open to anyone with access to the Redis
    }
    if (isRunEvent(event)) events.publish(event);
  });
  return () => subscriber.disconnect();
}
